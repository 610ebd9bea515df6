import { homedir } from 'node:os';
import type { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { flagsOf, type FlagCommand } from '../config/definitions.js';
import { readConfigFile, type ConfigFileResult } from '../config/file.js';
import { fileErrorsByKey, resolveSettings, type ResolvedSettings } from '../config/load.js';
import { defaultCacheDir } from '../index/cache.js';
import { chooseIndexes, type IndexChoice } from '../install/indexes.js';
import type { Runtime } from './runtime.js';

// Settings and indexes for commands: kept free of the registry client, credentials and sigstore so
// that commands that only read indexes (artifact list/search, index *) start fast.

/** The home directory from the injected env (HOME), else the OS's. */
export function homeOf(rt: Runtime): string {
  return rt.io.env.HOME ?? homedir();
}

/** commander's attribute name for a long flag: `--rulesfiles-dir` → `rulesfilesDir`. */
function attributeOf(flag: string): string {
  return flag.replace(/^--(no-)?/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Loads falcoctl.yaml (`--config`), the `FALCOCTL_*` environment and the command's explicit flags
 * into settings with provenance (flags > env > file > defaults). Config warnings are logged. A bad
 * value fails only the commands that read its key, when they read it (falcoctl reads per command,
 * so a bad `artifact.follow.every` must not stop `artifact install`); a file that cannot be read as
 * a whole (invalid YAML) fails every command at once.
 */
export async function loadSettings(rt: Runtime, cmd: Command, command?: FlagCommand): Promise<ResolvedSettings> {
  const file = await readConfigFile(rt.globals.config, { signal: rt.io.signal });
  for (const w of file.warnings) rt.logger.warn(`${rt.globals.config}: ${w}`);
  const flags: Record<string, unknown> = {};
  if (command) {
    const opts = cmd.opts() as Record<string, unknown>;
    for (const [flag, key] of flagsOf(command)) {
      const attr = attributeOf(flag);
      if (cmd.getOptionValueSource(attr) === 'cli') {
        // --no-verify sets verify=false in commander; the setting is noVerify=true.
        flags[key] = flag === '--no-verify' ? opts.verify === false : opts[attr];
      }
    }
  }
  return settingsWithFile(rt, file, { flags });
}

/**
 * Settings over an already read falcoctl.yaml (see loadSettings). @throws ERR_INVALID_CONFIG
 * when the file has a problem that names no setting.
 */
export function settingsWithFile(rt: Runtime, file: ConfigFileResult, opts: { flags?: Record<string, unknown>; keys?: readonly string[] } = {}): ResolvedSettings {
  const { byKey, general } = fileErrorsByKey(file.errors);
  if (general.length > 0) {
    throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `invalid config file "${rt.globals.config}":\n  ${file.errors.join('\n  ')}`, {
      hint: 'Fix the keys above, or point --config at another file.',
    });
  }
  return resolveSettings({
    ...opts, env: rt.io.env, fileConfig: file.config, fileErrors: byKey, filePath: rt.globals.config, home: homeOf(rt),
  });
}

/** The indexes the `artifact` commands read (src/install/indexes.ts), from settings and $HOME. */
export function indexChoiceFor(rt: Runtime, settings: ResolvedSettings): Promise<IndexChoice> {
  const configured = settings.sourceOf('indexes') === 'default' ? undefined : settings.get('indexes');
  return chooseIndexes({ configured, cacheDir: defaultCacheDir(homeOf(rt)), logger: rt.logger, signal: rt.io.signal, proxyEnv: rt.io.env });
}
