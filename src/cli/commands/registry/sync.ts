import { join } from 'node:path';
import { Command } from 'commander';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';
import { createRegistryAccess, homeOf, loadSettings } from '../../context.js';
import { addOutputOption } from '../../options/output.js';
import { printResult } from '../../output/print.js';
import { parseGoDuration } from '../../../config/duration.js';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import { resolveFollowTargets } from '../../../follow/refs.js';
import { createSchedule } from '../../../follow/schedule.js';
import { loadMergedIndex, type MergedIndex } from '../../../index/merged.js';
import { resolveReference } from '../../../resolve/reference.js';
import { count, syncLoop } from '../../../sync/loop.js';
import { syncOnce, type SyncArtifact, type SyncDeps, type SyncOutcome } from '../../../sync/sync.js';

/** `rulesctl registry sync SRC DST [REF...]`: mirror followed artifacts into an in-cluster registry. */
export function syncCommand(io: CliIO, action: ActionWrapper): Command {
  const cmd = new Command('sync')
    .description('Copy followed artifacts and their dependencies from one registry to another (one-shot, or on a schedule)')
    .argument('<src>', 'upstream registry host (e.g. ghcr.io)')
    .argument('<dst>', 'destination registry host (e.g. an in-cluster registry); repositories keep their path')
    .argument('[ref...]', 'artifacts to sync (index names or SRC refs, by tag); default artifact.follow.refs')
    .option('-e, --every <duration>', 'sync again at this interval (Go duration) instead of once')
    .option('--cron <expr>', 'sync on this cron schedule instead of once')
    .option('--no-deps', 'do not sync the dependencies named in artifact configs')
    .option('--plain-http', 'talk to both registries over plain HTTP');
  addOutputOption(cmd);
  cmd.addHelpText('after', '\nExamples:\n  rulesctl registry sync ghcr.io registry.falco.svc:5000 falco-rules:3 --plain-http\n  rulesctl registry sync ghcr.io registry.falco.svc:5000 --every 1h --plain-http   # refs from artifact.follow.refs');
  return cmd.action(action(io, async (rt, args, c) => {
    const [src, dst, refs] = args as [string, string, string[] | undefined];
    const o = c.opts() as { every?: string; cron?: string; deps?: boolean; plainHttp?: boolean };
    if (o.every !== undefined && o.cron !== undefined) {
      throw new RulesctlError(ErrorCodes.USAGE, 'if any flags in the group [cron every] are set none of the others can be; [cron every] were all set');
    }
    const settings = await loadSettings(rt, c);
    const inputs = refs && refs.length > 0 ? refs : settings.get('artifact.follow.refs');
    if (inputs.length === 0) throw new RulesctlError(ErrorCodes.USAGE, 'no artifacts to sync', { hint: 'give references or set artifact.follow.refs' });
    const cacheDir = join(homeOf(rt), '.config', 'falcoctl');
    const indexes = settings.get('indexes');
    const targets = await resolveFollowTargets(inputs, { indexes, cacheDir, signal: rt.io.signal, proxyEnv: rt.io.env });
    const artifacts: SyncArtifact[] = targets.map((t) => {
      const r = t.resolved.reference;
      if (r.registry !== src) throw new RulesctlError(ErrorCodes.USAGE, `${t.ref} is not in ${src}`, { hint: 'sync one source registry at a time' });
      if (!r.tag) throw new RulesctlError(ErrorCodes.USAGE, `${t.ref}: sync copies by tag; give a tag, not a digest`);
      return { registry: r.registry, repository: r.repository, tag: r.tag };
    });
    // No mirrors here: sync must read the real upstream even where registry.mirrors points SRC at DST.
    const access = createRegistryAccess(rt, settings, { plainHttp: o.plainHttp === true });
    let index: Promise<MergedIndex> | undefined;
    const deps: SyncDeps = {
      source: async (a) => access.clientFor(src).repository({ registry: src, repository: a.repository }),
      destination: async (a) => access.clientFor(dst).repository({ registry: dst, repository: a.repository }),
      ...(o.deps === false ? {} : {
        resolveDependency: async (name: string, version: string, opt: { signal?: AbortSignal }) => {
          try {
            const r = await resolveReference(`${name}:${version}`, { index: () => (index ??= loadMergedIndex(indexes, { cacheDir })), ...opt });
            if (r.reference.registry !== src || !r.reference.tag) return undefined;
            return { registry: src, repository: r.reference.repository, tag: r.reference.tag };
          } catch {
            return undefined;
          }
        },
      }),
      log: rt.logger,
      signal: rt.io.signal,
    };
    try {
      if (o.every === undefined && o.cron === undefined) {
        const outcomes = await syncOnce(artifacts, deps);
        printResult(rt.io.stdout, rt.output, { outcomes, ...count(outcomes) }, (r) => formatOutcomes(r.outcomes));
        if (outcomes.some((x) => x.status === 'failed')) throw new RulesctlError(ErrorCodes.REGISTRY, 'some artifacts could not be synced');
        return;
      }
      const everyMs = o.every === undefined ? undefined : parseGoDuration(o.every);
      if (o.every !== undefined && (everyMs === undefined || everyMs <= 0)) throw new RulesctlError(ErrorCodes.USAGE, `invalid argument "${o.every}" for "--every" flag`);
      const schedule = createSchedule(o.cron !== undefined ? { cron: o.cron } : { everyMs: everyMs!, everyLabel: o.every! });
      await syncLoop(artifacts, { ...deps, schedule, signal: rt.io.signal });
      rt.logger.info('Sync stopped');
    } finally {
      await access.close();
    }
  }));
}

function formatOutcomes(outcomes: SyncOutcome[]): string {
  return outcomes.map((x) => `${x.status.padEnd(9)} ${x.ref}${x.digest ? ` ${x.digest}` : ''}${x.dependency ? ' (dependency)' : ''}${x.error ? `: ${x.error}` : ''}`).join('\n');
}
