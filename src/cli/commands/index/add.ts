import { Command } from 'commander';
import { readConfigFile, updateConfigFile } from '../../../config/file.js';
import { addIndex, defaultCacheDir } from '../../../index/cache.js';
import type { IndexConfigEntry } from '../../../index/indexes-config.js';
import type { CliIO } from '../../io.js';
import type { ActionWrapper } from '../register.js';
import { homeOf, settingsWithFile } from '../../settings-context.js';
import { addOutputOption } from '../../options/output.js';
import { printResult } from '../../output/print.js';
import type { Runtime } from '../../runtime.js';

export interface IndexAddResult {
  added: boolean;
  entry: IndexConfigEntry;
  /** falcoctl.yaml path when its `indexes` key was updated. */
  configFile?: string;
}

type IndexListEntry = { name: string; url: string; backend?: string };

/**
 * Adds or removes entries of falcoctl.yaml `indexes` when the file exists (spec §8, §10). The list
 * edited is falcoctl's `config.Indexes()`: FALCOCTL_INDEXES, else the file's `indexes`, else the
 * default falcosecurity index (internal/config/config.go AddIndexes/RemoveIndexes). When the file
 * does not exist, it is NOT created (falcoctl would create it with defaults): the index is recorded
 * in `~/.config/falcoctl/indexes.yaml` only, and the `artifact` commands read that list when no
 * `indexes` setting exists (src/install/indexes.ts). Returns whether the file was changed.
 */
export async function editConfigIndexes(rt: Runtime, edit: (list: IndexListEntry[]) => IndexListEntry[] | undefined): Promise<boolean> {
  const path = rt.globals.config;
  const file = await readConfigFile(path, { signal: rt.io.signal });
  if (!file.exists) {
    rt.logger.info('No config file: the index list is kept in indexes.yaml only', { config: path });
    return false;
  }
  const current = settingsWithFile(rt, file, { keys: ['indexes'] }).get('indexes');
  const next = edit(current.map((i) => ({ name: i.name, url: i.url, ...(i.backend ? { backend: i.backend } : {}) })));
  if (next === undefined) return false;
  await updateConfigFile(path, 'indexes', next, { signal: rt.io.signal });
  return true;
}

/** `rulesctl index add NAME URL [BACKEND]` (spec §6, §8). */
export function indexAddCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('add')
    .description('Add an index to the local cache and to the config file')
    .argument('<name>', 'name of the index')
    .argument('<url>', 'URL of the index.yaml (https://, http://, file:///)')
    .argument('[backend]', 'backend: https, http or file (default: from the URL scheme)')
    .addHelpText('after', '\nExamples:\n  rulesctl index add falcosecurity https://falcosecurity.github.io/falcoctl/index.yaml\n  rulesctl index add mine file:///srv/index.yaml');
  addOutputOption(cmd);
  return cmd.action(action(io, async (rt, args) => {
    const [name, url, backend] = args as [string, string, string | undefined];
    const source = { name, url, ...(backend ? { backend } : {}) };
    rt.logger.info('Adding index', { name, path: url });
    const res = await addIndex(source, {
      cacheDir: defaultCacheDir(homeOf(rt)),
      fetch: { allowPlainHttp: url.startsWith('http://') || backend?.toLowerCase() === 'http', proxyEnv: rt.io.env },
      signal: rt.io.signal,
    });
    const result: IndexAddResult = { added: res.added, entry: res.entry };
    // falcoctl writes the entry into falcoctl.yaml even when the cache already had the index.
    const changed = await editConfigIndexes(rt, (list) => (list.some((i) => i.name === name) ? undefined : [...list, source]));
    if (changed) result.configFile = rt.globals.config;
    printResult(rt.io.stdout, rt.output, result, (r) => (r.added ? `Index "${name}" successfully added`
      : r.configFile ? `Index "${name}" already cached; added to ${r.configFile}` : `Index "${name}" already exists, nothing done`));
  }));
}
