import { Command } from 'commander';
import { parseArtifactType } from '../../../artifact/media-types.js';
import type { CliIO } from '../../io.js';
import type { ActionWrapper } from '../register.js';
import { indexChoiceFor, loadSettings } from '../../settings-context.js';
import { addOutputOption } from '../../options/output.js';
import { printResult } from '../../output/print.js';
import { artifactTable, rowOf } from './search.js';

/** `rulesctl artifact list` (alias `ls`): every entry of the merged index, `--type`, `--index` (spec §6). */
export function listCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('list').alias('ls')
    .description('List all artifacts of the configured indexes')
    .addHelpText('after', '\nExamples:\n  rulesctl artifact list\n  rulesctl artifact list --type plugin --index falcosecurity -o json')
    .option('--type <type>', 'only artifacts of this type (rulesfile, plugin, asset)')
    .option('--index <name>', 'only artifacts of this index');
  addOutputOption(cmd);
  return cmd.action(action(io, async (rt, _args, c) => {
    const o = c.opts() as { type?: string; index?: string };
    const type = o.type === undefined ? undefined : parseArtifactType(o.type);
    const settings = await loadSettings(rt, c);
    const index = await (await indexChoiceFor(rt, settings)).full();
    const rows = index.entries
      .map((e) => rowOf(index.sourceOf.get(e.name) ?? '', e))
      .filter((r) => (type === undefined || r.type === type) && (o.index === undefined || r.index === o.index));
    printResult(rt.io.stdout, rt.output, rows, artifactTable);
  }));
}
