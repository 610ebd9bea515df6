import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fetchConfig, pullArtifact, type TargetPlatform } from '../artifact/pull.js';
import { artifactTypeOfLayer, checkAllowedType, type ArtifactType } from '../artifact/media-types.js';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../errors.js';
import type { PlaceChange } from '../install/place.js';
import { discardStaged, writeStaged } from '../install/staging.js';
import { nullLogger, type Logger } from '../log.js';
import type { Target } from '../oci/target.js';
import { memoizeSmallReads } from './update-support.js';

export { cleanStaleWorkDirs, memoizeSmallReads } from './update-support.js';
import type { FalcoVersions } from '../resolve/requirements.js';
import { verifyBeforeWrite, type VerifyBeforeWriteOptions } from '../signature/install-hook.js';
import type { PlacementGuard } from './daemon.js';
import type { UpdateResult } from './follower.js';
import type { FollowMetricsSink } from './metrics.js';
import { checkArtifactRequirements, currentFalcoVersions, invalidRulesProblems, logRulesDiff, refusalOf } from './update-checks.js';
import { isRollbackFailure, swapRules } from './swap.js';

/**
 * The `update` of one followed reference (falcoctl.md §11 "One check" steps 3-7, registries.md
 * §1.I items 1 and 7): pull the new digest, check it, stage every file next to its target, swap.
 *
 * Dependencies are not resolved: falcoctl's follow has no `--resolve-deps`, so only the artifact's
 * own files are placed (follow its dependencies as refs of their own, or use `artifact install`).
 */
export interface UpdateContext {
  /** Resolved reference, for logs and messages. */
  ref: string;
  /** The repository (possibly mirrored) the digest is pulled from. */
  target: Target;
  /** `<registry>/<repository>`, the signature subject's repository. */
  repository: string;
  platform: TargetPlatform;
  /** Destination directory per artifact type (must exist and be writable). */
  dirs: Record<ArtifactType, string>;
  /** Where the artifact is downloaded and extracted before staging (any filesystem). */
  tmpDir: string;
  /** Where the previous files are kept for rollback: under the state dir, outside Falco's dirs. */
  lastGoodDir: string;
  /** Falco's `/versions` string values, read once at start. */
  falcoVersions: FalcoVersions;
  /** Falco's `plugin_versions`; checked against a rules file's dependencies only when reported. */
  pluginVersions?: Record<string, string>;
  /**
   * Falco's current `/versions`, read before each requirements check, so a refusal clears once Falco
   * loaded the plugin a rules file needs. When it fails, `falcoVersions`/`pluginVersions` are used.
   */
  readFalcoVersions?: (signal: AbortSignal) => Promise<{ versions: FalcoVersions; pluginVersions?: Record<string, string> }>;
  allowedTypes?: readonly ArtifactType[];
  /** The index entry's signature block (undefined: nothing to verify). */
  signature?: VerifyBeforeWriteOptions['signature'];
  noVerify?: boolean;
  /** Sigstore trusted root for keyless and Rekor-checked signatures (as install has). */
  trustedRoot?: VerifyBeforeWriteOptions['trustedRoot'];
  /** The repository's referrers lookup (tag-schema fallback when absent). */
  referrers?: VerifyBeforeWriteOptions['referrers'];
  /** Injected for tests; default `verifyBeforeWrite`. */
  verifySignature?: typeof verifyBeforeWrite;
  reload?: () => Promise<unknown>;
  /** Falco health after the swap; unhealthy → rollback. */
  verify?: () => Promise<{ healthy: boolean; reason?: string }>;
  settleMs?: number;
  /**
   * Runs right before the first rename (follow: forgets the recorded digest, so a run killed in
   * the middle of a swap re-checks the files on restart instead of trusting a stale state file).
   * Returns what undoes it once the swap was rolled back (the old files are back).
   */
  beforeSwap?: () => Promise<() => Promise<void>>;
  log?: Logger;
  metrics?: FollowMetricsSink;
}

interface NewFile {
  rel: string;
  path: string;
  digest: string;
  target: string;
  mode: number;
}

/** Builds the `FollowedRef.update` for one reference. */
export function createUpdate(ctx: UpdateContext): (digest: string, signal: AbortSignal, guard?: PlacementGuard) => Promise<UpdateResult> {
  return (digest, signal, guard) => updateOnce(ctx, digest, signal, guard);
}

/**
 * One update to `digest`. Refusals of this digest (type not allowed, unmet requirements, invalid
 * rules, content not matching its digest, signature refused or missing, Falco unhealthy after the
 * swap and rolled back) resolve as `skipped` with a reason the follower's `REFUSALS` classifies;
 * other failures (network, I/O) throw and are retried at the next tick. Never writes the state file.
 */
export async function updateOnce(ctx: UpdateContext, digest: string, signal: AbortSignal, guard?: PlacementGuard): Promise<UpdateResult> {
  const at = `${ctx.repository}@${digest}`;
  try {
    return await updateSteps(ctx, digest, at, signal, guard);
  } catch (err) {
    const reason = refusalOf(err);
    if (reason === undefined || signal.aborted) throw err;
    (ctx.log ?? nullLogger).error('Artifact refused, not installing', { followerName: ctx.ref, reference: at, reason, error: (err as Error).message });
    return { outcome: 'skipped', reason, message: `Not installing ${ctx.ref} (${at}): ${(err as Error).message}` };
  }
}

async function updateSteps(ctx: UpdateContext, digest: string, at: string, signal: AbortSignal, guard?: PlacementGuard): Promise<UpdateResult> {
  const log = ctx.log ?? nullLogger;
  // The checks read the manifest and config first; the pull reuses them instead of asking again.
  const target = memoizeSmallReads(ctx.target);
  ctx = { ...ctx, target };
  const head = await fetchConfig(target, digest, ctx.platform, { signal });
  try {
    checkAllowedType(head.layerMediaType, ctx.allowedTypes);
  } catch (err) {
    if (!isRulesctlError(err, ErrorCodes.TYPE_NOT_ALLOWED)) throw err;
    return { outcome: 'skipped', reason: 'type-not-allowed', message: `Not installing ${ctx.ref} (${at}): ${(err as Error).message}` };
  }
  const type = artifactTypeOfLayer(head.layerMediaType);
  const falco = await currentFalcoVersions(ctx, signal, log);
  const unmet = checkArtifactRequirements(head.config, type, falco.versions, falco.pluginVersions);
  if (unmet) return { outcome: 'skipped', reason: 'requirements', message: `Unmet requirements, not installing ${ctx.ref} (${at}): ${unmet}` };

  const work = await mkdtemp(join(ctx.tmpDir, `rulesctl-follow-${process.pid}-`));
  const staged: PlaceChange[] = [];
  try {
    const pulled = await pullArtifact(ctx.target, digest, {
      platform: ctx.platform, destDir: work, extract: true, signal,
      ...(ctx.allowedTypes ? { allowedTypes: ctx.allowedTypes } : {}),
      onProgress: () => {},
    });
    ctx.metrics?.bytesPulled(ctx.ref, pulled.files.reduce((n, f) => n + f.size, 0));
    await (ctx.verifySignature ?? verifyBeforeWrite)({
      target: ctx.target, repository: ctx.repository, digest: pulled.rootDigest, signature: ctx.signature,
      noVerify: ctx.noVerify === true, logger: log, signal,
      ...(ctx.trustedRoot ? { trustedRoot: ctx.trustedRoot } : {}),
      ...(ctx.referrers ? { referrers: ctx.referrers } : {}),
    });
    const destDir = ctx.dirs[pulled.type];
    const files = await describeFiles(pulled.files.map((f) => ({ path: f.path, digest: f.digest })), work, destDir);
    if (pulled.type === 'rulesfile') {
      const problems = await invalidRulesProblems(files);
      if (problems.length > 0) {
        log.error('Invalid rules file, not installing', { followerName: ctx.ref, reference: at, problems });
        return { outcome: 'skipped', reason: 'invalid-rules', message: `Invalid rules in ${ctx.ref} (${at}), the installed files were kept: ${problems[0]}` };
      }
    }
    await requireWritableDir(destDir, pulled.type);
    const changed = await changedFiles(files);
    if (changed.length === 0) {
      log.info('Artifact files already in place', { followerName: ctx.ref, digest });
      return { outcome: 'installed' };
    }
    const oldTexts = pulled.type === 'rulesfile' ? await readTexts(files.map((f) => f.target)) : [];
    for (const f of changed) {
      signal.throwIfAborted();
      await mkdir(dirname(f.target), { recursive: true, mode: 0o750 });
      staged.push({ staged: await writeStaged(f.target, createReadStream(f.path), f.mode, { signal }), target: f.target, mode: f.mode });
    }
    signal.throwIfAborted();
    const swapped = await swapStaged(ctx, staged, guard, log);
    staged.length = 0;
    if (swapped) return swapped;
    if (pulled.type === 'rulesfile') logRulesDiff(log, ctx.ref, oldTexts, await readTexts(files.map((f) => f.path)));
    return { outcome: 'installed' };
  } finally {
    for (const s of staged) await discardStaged(s.staged);
    await rm(work, { recursive: true, force: true }).catch(() => {});
  }
}

/** `swapRules`; a Falco found unhealthy after the swap (files restored) is a refusal (`rolled-back`). */
async function swapStaged(ctx: UpdateContext, changes: PlaceChange[], guard: PlacementGuard | undefined, log: Logger): Promise<UpdateResult | undefined> {
  let unhealthy: string | undefined;
  const verify = ctx.verify;
  let undo: (() => Promise<void>) | undefined;
  try {
    undo = await ctx.beforeSwap?.();
    await swapRules(changes, {
      lastGoodDir: ctx.lastGoodDir, log, ref: ctx.ref,
      ...(guard ? { guard } : {}),
      ...(ctx.reload ? { reload: ctx.reload } : {}),
      ...(ctx.settleMs !== undefined ? { settleMs: ctx.settleMs } : {}),
      ...(verify ? { verify: async () => {
        const h = await verify();
        if (!h.healthy) unhealthy = h.reason ?? 'unknown reason';
        return h;
      } } : {}),
    });
  } catch (err) {
    // A failed rollback: the files may be the new version; nothing is undone, the update fails (retried).
    if (isRollbackFailure(err)) throw err;
    // swapRules restores the previous files when it fails or Falco is unhealthy.
    await undo?.();
    if (unhealthy === undefined) throw err;
    return { outcome: 'skipped', reason: 'rolled-back', message: `Rolled back ${ctx.ref}: ${(err as Error).message}` };
  }
  return undefined;
}

async function describeFiles(pulled: { path: string; digest: string }[], work: string, destDir: string): Promise<NewFile[]> {
  const out: NewFile[] = [];
  for (const f of pulled) {
    const rel = relative(work, f.path);
    const mode = (await stat(f.path)).mode & 0o755;
    out.push({ rel: rel.split(sep).join('/'), path: f.path, digest: f.digest, target: join(destDir, rel), mode: mode & 0o111 ? 0o755 : 0o644 });
  }
  return out;
}

/** Files whose target is missing or has other bytes (equal files are left untouched: no reload). */
async function changedFiles(files: NewFile[]): Promise<NewFile[]> {
  const out: NewFile[] = [];
  for (const f of files) {
    const current = await readFile(f.target).catch(() => undefined);
    if (current === undefined || `sha256:${createHash('sha256').update(current).digest('hex')}` !== f.digest) out.push(f);
  }
  return out;
}

async function readTexts(paths: string[]): Promise<string[]> {
  return Promise.all(paths.map((p) => readFile(p, 'utf8').catch(() => '')));
}

/** falcoctl step 5: the destination for the type must exist and be a directory. */
async function requireWritableDir(dir: string, type: ArtifactType): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new RulesctlError(ErrorCodes.IO, `the destination directory for ${type} artifacts "${dir}" does not exist`, {
      hint: 'create it (or mount the shared volume) and make it writable by this user, or change the matching --*-dir flag',
    });
  }
}
