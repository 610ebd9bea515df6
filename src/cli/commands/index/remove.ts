import { Command } from 'commander';
import { defaultCacheDir, removeIndex } from '../../../index/cache.js';
import type { CliIO } from '../../io.js';
import type { ActionWrapper } from '../register.js';
import { homeOf } from '../../settings-context.js';
import { addOutputOption } from '../../options/output.js';
import { printResult } from '../../output/print.js';
import { editConfigIndexes } from './add.js';

/** `rulesctl index remove NAME...` (alias `rm`): cache file, indexes.yaml and falcoctl.yaml entries (spec §8). */
export function indexRemoveCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('remove').alias('rm')
    .description('Remove indexes from the local cache and the config file')
    .argument('<name...>', 'names of the indexes')
    .addHelpText('after', '\nExamples:\n  rulesctl index remove falcosecurity\n  rulesctl index rm mine other');
  addOutputOption(cmd);
  return cmd.action(action(io, async (rt, args) => {
    const names = args[0] as string[];
    const removed: string[] = [];
    const absent: string[] = [];
    for (const name of names) {
      rt.logger.info('Removing index', { name });
      const r = await removeIndex(name, { cacheDir: defaultCacheDir(homeOf(rt)), signal: rt.io.signal });
      (r.removed ? removed : absent).push(name);
    }
    await editConfigIndexes(rt, (list) => (list.some((i) => names.includes(i.name)) ? list.filter((i) => !names.includes(i.name)) : undefined));
    printResult(rt.io.stdout, rt.output, { removed, absent }, (r) => [
      ...r.removed.map((n) => `Index "${n}" successfully removed`),
      ...r.absent.map((n) => `Index "${n}" is not in the cache, nothing done`),
    ].join('\n'));
  }));
}
