import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';
import { createRegistryAccess, homeOf, loadSettings } from '../../context.js';
import { addOutputOption } from '../../options/output.js';
import { printResult } from '../../output/print.js';
import type { NameDiff } from '../../../artifact/rules-diff.js';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import { diffArtifactVersions, type ArtifactDiffResult } from '../../../follow/artifact-diff.js';
import { resolveFollowTargets } from '../../../follow/refs.js';
import { isDigest } from '../../../oci/descriptor.js';
import { hostPlatform } from '../../../oci/platform.js';

/** `rulesctl artifact diff REF OLD NEW`: rules, macros and lists added, removed or changed. */
export function diffCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('diff')
    .description('Show which rules, macros and lists changed between two versions of a rules artifact')
    .argument('<ref>', 'the artifact: an index name or registry/repository (a tag or digest in it is ignored)')
    .argument('<old>', 'old version: a tag or a digest of that repository')
    .argument('<new>', 'new version: a tag or a digest of that repository')
    .option('--plain-http', 'talk to the registry over plain HTTP');
  addOutputOption(cmd);
  cmd.addHelpText('after', '\nExamples:\n  rulesctl artifact diff falco-rules 3.1.0 3.2.0\n  rulesctl artifact diff ghcr.io/falcosecurity/rules/falco-rules 3.1.0 sha256:<hex> -o json');
  return cmd.action(action(io, async (rt, args, c) => {
    const [ref, oldRef, newRef] = args as [string, string, string];
    for (const v of [oldRef, newRef]) {
      if (v.includes('sha256:') && !isDigest(v)) throw new RulesctlError(ErrorCodes.INVALID_REFERENCE, `invalid digest "${v}"`);
    }
    const settings = await loadSettings(rt, c);
    const [t] = await resolveFollowTargets([ref], { indexes: settings.get('indexes'), cacheDir: join(homeOf(rt), '.config', 'falcoctl'), signal: rt.io.signal, proxyEnv: rt.io.env });
    const access = createRegistryAccess(rt, settings, { plainHttp: (c.opts() as { plainHttp?: boolean }).plainHttp === true });
    try {
      const target = await access.targets(t!.resolved.reference);
      const result = await diffArtifactVersions(target, oldRef, newRef, { platform: hostPlatform(), tmpDir: rt.io.env.TMPDIR ?? tmpdir(), signal: rt.io.signal });
      printResult(rt.io.stdout, rt.output, { ref: t!.repository, ...result }, formatDiff);
    } finally {
      await access.close();
    }
  }));
}

function section(name: string, d: NameDiff): string[] {
  const head = `${name}: ${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed`;
  return [head, ...d.added.map((n) => `  + ${n}`), ...d.removed.map((n) => `  - ${n}`), ...d.changed.map((n) => `  ~ ${n}`)];
}

/** Text form: a header naming both versions, then one section per kind. */
export function formatDiff(r: ArtifactDiffResult & { ref: string }): string {
  return [
    `${r.ref}: ${r.old.reference} (${r.old.digest}) -> ${r.new.reference} (${r.new.digest})`,
    ...section('rules', r.rules), ...section('macros', r.macros), ...section('lists', r.lists),
  ].join('\n');
}
