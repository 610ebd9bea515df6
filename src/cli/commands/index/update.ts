import { Command } from 'commander';
import { defaultCacheDir, listIndexes, updateIndex } from '../../../index/cache.js';
import type { CliIO } from '../../io.js';
import type { ActionWrapper } from '../register.js';
import { homeOf } from '../../settings-context.js';
import { addOutputOption } from '../../options/output.js';
import { printResult } from '../../output/print.js';

/**
 * `rulesctl index update [NAME...]`: re-fetches the named indexes (all cached ones when none is
 * named; falcoctl requires at least one), conditionally when validators were kept (spec §8).
 */
export function indexUpdateCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('update')
    .description('Update indexes in the local cache (all when no name is given)')
    .argument('[name...]', 'names of the indexes')
    .addHelpText('after', '\nExamples:\n  rulesctl index update falcosecurity\n  rulesctl index update');
  addOutputOption(cmd);
  return cmd.action(action(io, async (rt, args) => {
    const cacheDir = defaultCacheDir(homeOf(rt));
    const cached = await listIndexes({ cacheDir, signal: rt.io.signal });
    let names = (args[0] as string[] | undefined) ?? [];
    if (names.length === 0) names = cached.map((e) => e.name);
    const results: Array<{ name: string; url: string; changed: boolean; updated: string }> = [];
    for (const name of names) {
      rt.logger.info('Updating index', { name });
      const r = await updateIndex(name, { cacheDir, fetch: { allowPlainHttp: cached.some((e) => e.name === name && e.url.startsWith('http://')), proxyEnv: rt.io.env }, signal: rt.io.signal });
      results.push({ name, url: r.entry.url, changed: r.changed, updated: r.entry.updated_timestamp });
    }
    printResult(rt.io.stdout, rt.output, results, (list) => list.length === 0
      ? 'No index in the cache: add one with "rulesctl index add NAME URL"'
      : list.map((r) => `Index "${r.name}" ${r.changed ? 'successfully updated' : 'not modified since the last update'}`).join('\n'));
  }));
}
