import { homedir } from 'node:os';
import type { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { flagsOf, type FlagCommand } from '../config/definitions.js';
import { readConfigFile } from '../config/file.js';
import { resolveSettings, type ResolvedSettings } from '../config/load.js';
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
 * into settings with provenance (flags > env > file > defaults). Config warnings are logged; config
 * errors fail the command once, with every dotted key.
 */
export async function loadSettings(rt: Runtime, cmd: Command, command?: FlagCommand): Promise<ResolvedSettings> {
  const file = await readConfigFile(rt.globals.config, { signal: rt.io.signal });
  for (const w of file.warnings) rt.logger.warn(`${rt.globals.config}: ${w}`);
  if (file.errors.length > 0) {
    throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `invalid config file "${rt.globals.config}":\n  ${file.errors.join('\n  ')}`, {
      hint: 'Fix the keys above, or point --config at another file.',
    });
  }
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
  return resolveSettings({ flags, env: rt.io.env, fileConfig: file.config, home: homeOf(rt) });
}

/** The indexes the `artifact` commands read (src/install/indexes.ts), from settings and $HOME. */
export function indexChoiceFor(rt: Runtime, settings: ResolvedSettings): Promise<IndexChoice> {
  const configured = settings.sourceOf('indexes') === 'default' ? undefined : settings.get('indexes');
  return chooseIndexes({ configured, cacheDir: defaultCacheDir(homeOf(rt)), logger: rt.logger, signal: rt.io.signal, proxyEnv: rt.io.env });
}
