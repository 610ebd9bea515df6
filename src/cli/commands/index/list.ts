import { Command } from 'commander';
import { defaultCacheDir, listIndexes } from '../../../index/cache.js';
import type { CliIO } from '../../io.js';
import type { ActionWrapper } from '../register.js';
import { homeOf } from '../../settings-context.js';
import { addOutputOption } from '../../options/output.js';
import { formatTable, printResult } from '../../output/print.js';

/** `rulesctl index list` (alias `ls`): falcoctl's `NAME URL ADDED UPDATED` table from indexes.yaml (spec §6, §8). */
export function indexListCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('list').alias('ls').description('List the indexes in the local cache')
    .addHelpText('after', '\nExamples:\n  rulesctl index list\n  rulesctl index ls -o json');
  addOutputOption(cmd);
  return cmd.action(action(io, async (rt) => {
    const entries = await listIndexes({ cacheDir: defaultCacheDir(homeOf(rt)), signal: rt.io.signal });
    printResult(rt.io.stdout, rt.output, entries, (list) =>
      formatTable(['NAME', 'URL', 'ADDED', 'UPDATED'], list.map((e) => [e.name, e.url, e.added_timestamp, e.updated_timestamp])));
  }));
}
