import { Command } from 'commander';
import { parseReference } from '../../../oci/reference.js';
import type { CliIO } from '../../io.js';
import type { ActionWrapper } from '../register.js';
import { createRegistryAccess, type RegistryAccess } from '../../context.js';
import { indexChoiceFor, loadSettings } from '../../settings-context.js';
import { addOutputOption } from '../../options/output.js';
import { formatTable, printResult } from '../../output/print.js';
import type { Runtime } from '../../runtime.js';

export interface InfoRow {
  ref: string;
  tags: string[];
}

/**
 * `rulesctl artifact info REF...` (spec §6, §7.5): a full reference loses its tag; a name is
 * looked up in the index as typed (no tag parsing, so `falco-rules:5` is not found and skipped
 * with a warning). Tags come from the registry, `*.sig` dropped; a repository that cannot be
 * listed is skipped with a warning. The table prints only with rows.
 */
export function infoCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('info')
    .description('Retrieve the tags of artifacts from their registries')
    .argument('<ref...>', 'index names or full references')
    .option('--plain-http', 'allow plain HTTP connections to the registry', false)
    .addHelpText('after', '\nExamples:\n  rulesctl artifact info falco-rules\n  rulesctl artifact info ghcr.io/falcosecurity/plugins/plugin/json');
  addOutputOption(cmd);
  return cmd.action(action(io, async (rt, args, c) => {
    const settings = await loadSettings(rt, c);
    const access = createRegistryAccess(rt, settings, { plainHttp: c.opts().plainHttp === true });
    const choice = await indexChoiceFor(rt, settings);
    const rows: InfoRow[] = [];
    try {
      for (const input of args[0] as string[]) {
        let repo: { registry: string; repository: string };
        if (input.includes('/')) {
          const r = parseReference(input);
          repo = { registry: r.registry, repository: r.repository };
        } else {
          const entry = (await choice.full()).byName.get(input);
          if (entry === undefined) {
            rt.logger.warn('Cannot find artifact, skipping', { ref: input });
            continue;
          }
          repo = { registry: entry.registry, repository: entry.repository };
        }
        const ref = `${repo.registry}/${repo.repository}`;
        const tags = await listTags(rt, access, repo);
        if (tags === undefined) continue;
        rows.push({ ref, tags: tags.filter((t) => !t.endsWith('.sig')) });
      }
    } finally {
      await access.close();
    }
    printResult(rt.io.stdout, rt.output, rows, (list) => (list.length === 0 ? '' : formatTable(['REF', 'TAGS'], list.map((r) => [r.ref, r.tags.join(', ')]))));
  }));
}

/**
 * The repository's tags, or undefined after falcoctl's warning (cmd/artifact/info/info.go: one
 * repository that cannot be listed is skipped, the others are printed). Cancellation still throws.
 */
async function listTags(rt: Runtime, access: RegistryAccess, repo: { registry: string; repository: string }): Promise<string[] | undefined> {
  try {
    const target = await access.targets(repo);
    return await target.listTags!({ signal: rt.io.signal });
  } catch (err) {
    if (rt.io.signal.aborted) throw err;
    rt.logger.warn('Cannot retrieve tags from', { ref: `${repo.registry}/${repo.repository}`, reason: err instanceof Error ? err.message : String(err) });
    return undefined;
  }
}
