import { Command } from 'commander';
import { parseArtifactType } from '../../../artifact/media-types.js';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { IndexEntry } from '../../../index/index-file.js';
import { DEFAULT_MIN_SCORE, searchIndex, validateMinScore } from '../../../index/search.js';
import type { CliIO } from '../../io.js';
import type { ActionWrapper } from '../register.js';
import { indexChoiceFor, loadSettings } from '../../settings-context.js';
import { addOutputOption } from '../../options/output.js';
import { formatTable, printResult } from '../../output/print.js';

/** One row of `artifact search` / `artifact list` in `--output json`. */
export interface ArtifactRow {
  index: string;
  name: string;
  type: string;
  registry: string;
  repository: string;
  description: string;
  score?: number;
}

export const rowOf = (index: string, e: IndexEntry, score?: number): ArtifactRow => ({
  index, name: e.name, type: e.type, registry: e.registry, repository: e.repository, description: e.description,
  ...(score === undefined ? {} : { score }),
});

/** falcoctl's `INDEX ARTIFACT TYPE REGISTRY REPOSITORY` table (spec §6). */
export const artifactTable = (rows: readonly ArtifactRow[]) =>
  formatTable(['INDEX', 'ARTIFACT', 'TYPE', 'REGISTRY', 'REPOSITORY'], rows.map((r) => [r.index, r.name, r.type, r.registry, r.repository]));

function parseMinScore(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || Number.isNaN(n)) throw new RulesctlError(ErrorCodes.USAGE, `invalid argument "${v}" for "--min-score" flag: not a number`);
  validateMinScore(n);
  return n;
}

/** `rulesctl artifact search WORD...` (spec §8 "Search"); the built-in index when none is configured. */
export function searchCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('search')
    .description('Search artifacts by keywords in the configured indexes')
    .argument('<keyword...>', 'keywords')
    .option('--min-score <score>', `minimum score of a name match, in (0,1] (default ${DEFAULT_MIN_SCORE})`)
    .option('--type <type>', 'only artifacts of this type (rulesfile, plugin, asset)')
    .addHelpText('after', '\nExamples:\n  rulesctl artifact search k8saudit\n  rulesctl artifact search cloudtrail --type plugin');
  addOutputOption(cmd);
  return cmd.action(action(io, async (rt, args, c) => {
    const o = c.opts() as { minScore?: string; type?: string };
    const minScore = o.minScore === undefined ? DEFAULT_MIN_SCORE : parseMinScore(o.minScore);
    const type = o.type === undefined ? undefined : parseArtifactType(o.type);
    const settings = await loadSettings(rt, c);
    const index = await (await indexChoiceFor(rt, settings)).full();
    const rows = searchIndex(index, args[0] as string[], { minScore, ...(type ? { type } : {}) })
      .map((r) => rowOf(r.index, r.entry, r.score));
    printResult(rt.io.stdout, rt.output, rows, artifactTable);
  }));
}
