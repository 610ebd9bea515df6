import { Command, Option } from 'commander';
import { SETTINGS, canonicalKey, flagsOf, type FlagCommand, type SettingDefinition } from '../../config/definitions.js';
import { followScheduleConflict } from '../../config/checks.js';
import { readConfigFile } from '../../config/file.js';
import { resolveSettings, type ResolvedSettings } from '../../config/load.js';
import { renderSettings } from '../../config/render.js';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import { homeOf } from '../settings-context.js';
import type { CliIO } from '../io.js';
import { addOutputOption } from '../options/output.js';
import type { Runtime } from '../runtime.js';
import type { ActionWrapper } from './register.js';

const FLAG_COMMANDS: readonly FlagCommand[] = ['artifact install', 'artifact follow'];

/** One option per distinct setting flag of install/follow, declared as those commands take it. */
function settingFlagOptions(): Option[] {
  const seen = new Map<string, { keys: string[]; commands: Set<string> }>();
  for (const def of Object.values(SETTINGS) as SettingDefinition[]) {
    if (!def.flag) continue;
    const entry = seen.get(def.flag.name) ?? { keys: [], commands: new Set<string>() };
    entry.keys.push(def.key);
    for (const c of def.flag.commands) entry.commands.add(c.replace('artifact ', ''));
    seen.set(def.flag.name, entry);
  }
  return [...seen.entries()].map(([flag, { keys, commands }]) => {
    const what = `as given to artifact ${[...commands].join('/')}: sets ${keys.join(', ')}`;
    if (flag === '--no-verify') return new Option(flag, what);
    if (flag === '--resolve-deps') return new Option(`${flag} [bool]`, what);
    if (flag === '--allowed-types') return new Option(`${flag} <types>`, what).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    return new Option(`${flag} <value>`, what);
  });
}

/** commander's attribute for a long flag (`--rulesfiles-dir` → `rulesfilesDir`, `--no-verify` → `verify`). */
function attributeOf(flag: string): string {
  return flag.replace(/^--(no-)?/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Setting values from the flags given on the command line, for every command that has the flag. */
function explicitFlags(cmd: Command): Record<string, unknown> {
  const opts = cmd.opts() as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const command of FLAG_COMMANDS) {
    for (const [flag, key] of flagsOf(command)) {
      const attr = attributeOf(flag);
      if (cmd.getOptionValueSource(attr) !== 'cli') continue;
      out[key] = flag === '--no-verify' ? opts.verify === false : opts[attr];
    }
  }
  return out;
}

/** Canonical keys for the KEY arguments. @throws ERR_USAGE naming an unknown key. */
export function parseKeys(raw: readonly string[]): string[] {
  return raw.map((k) => {
    const key = canonicalKey(k);
    if (key === undefined) {
      throw new RulesctlError(ErrorCodes.USAGE, `unknown setting "${k}"`, { hint: "Run 'rulesctl config' to list every setting." });
    }
    return key;
  });
}

async function resolveForDisplay(rt: Runtime, cmd: Command, keys: string[]): Promise<ResolvedSettings> {
  const file = await readConfigFile(rt.globals.config, { signal: rt.io.signal });
  for (const w of file.warnings) rt.logger.warn(`${rt.globals.config}: ${w}`);
  if (file.errors.length > 0) {
    throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `invalid config file "${rt.globals.config}":\n  ${file.errors.join('\n  ')}`, {
      hint: 'Fix the keys above, or point --config at another file.',
    });
  }
  return resolveSettings({
    flags: explicitFlags(cmd), env: rt.io.env, fileConfig: file.config, home: homeOf(rt),
    ...(keys.length > 0 ? { keys } : {}),
  });
}

/**
 * `rulesctl config [KEY...]`: every setting (or the KEYs) with its value and where it came from
 * (flag, env, file, default), secrets redacted (spec falcoctl.md §10, style practice 16). The
 * flags of `artifact install`/`follow` may be given to see how they combine with env and file.
 * Exits 1 after printing when a value is invalid.
 */
export function settingsCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('config')
    .description('Show every setting with its value and where it came from (flag, env, file, default)')
    .argument('[key...]', 'only these settings (falcoctl.yaml keys, any casing)');
  addOutputOption(cmd);
  for (const o of settingFlagOptions()) cmd.addOption(o);
  return cmd
    .addHelpText('after', `
Precedence: flags > FALCOCTL_* environment > config file (--config) > defaults. Keys marked * are
read by rulesctl only. Passwords and client secrets are shown as <redacted>.

Examples:
  rulesctl config
  rulesctl config artifact.follow.every --every 6h -o json
  FALCOCTL_ARTIFACT_FOLLOW_EVERY=1h rulesctl --config ./falcoctl.yaml config artifact.follow.every`)
    .action(action(io, async (rt, args, c) => {
      const keys = parseKeys((args[0] as string[] | undefined) ?? []);
      const settings = await resolveForDisplay(rt, c, keys);
      rt.io.stdout.write(renderSettings(settings, rt.output));
      if (keys.length === 0) {
        const conflict = followScheduleConflict(settings);
        if (conflict !== undefined) rt.logger.warn(`artifact follow would fail: ${conflict}`);
      }
      if (settings.errors.length > 0) {
        throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `invalid settings:\n  ${settings.errors.join('\n  ')}`, {
          hint: 'Fix or unset the variables and flags above.',
        });
      }
    }));
}
