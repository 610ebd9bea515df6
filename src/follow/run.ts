import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchConfig } from '../artifact/pull.js';
import { artifactTypeOfLayer, type ArtifactType } from '../artifact/media-types.js';
import type { IndexSource } from '../index/backends.js';
import type { Logger } from '../log.js';
import { hostPlatform } from '../oci/platform.js';
import type { Target } from '../oci/target.js';
import type { TargetFactory } from '../oci/targets.js';
import type { TrustedRootSource } from '../signature/trusted-root.js';
import { runDaemon, type DaemonResult, type FollowedRef } from './daemon.js';
import { checkFalcoHealth, waitForFalcoHealth, type FalcoHealth } from './falco-client.js';
import { readFalcoInfo, type FalcoInfo } from './falco-info.js';
import { startFollowServer, type FollowServer } from './http-server.js';
import { createLiveness } from './liveness.js';
import { createFollowMetrics, type FollowMetrics } from './metrics.js';
import { sendReloadSignal } from './reload.js';
import { healthyBeforeSwap } from './swap.js';
import { resolveFollowTargets, type FollowTarget } from './refs.js';
import type { Schedule, StartupBehavior } from './schedule.js';
import { readState, statePath, writeState } from '../install/state.js';
import { cleanStaleWorkDirs, memoizeSmallReads, updateOnce, type UpdateContext } from './update.js';

/** Everything `artifact follow` needs once its flags, env and config are resolved. */
export interface FollowArtifactsOptions {
  /** Index names or full references. */
  refs: readonly string[];
  targets: TargetFactory;
  schedule: Schedule;
  startupBehavior: StartupBehavior;
  /** Falco's `/versions`, read at start (retried until `timeoutMs`) and once more before each update. */
  falcoVersionsUrl: string;
  /** How long to wait for Falco's web server: `/versions` at start, a healthy `/healthz` after a swap. */
  timeoutMs: number;
  dirs: Record<ArtifactType, string>;
  stateDir: string;
  /** Where downloads are extracted before staging next to their targets. */
  tmpDir: string;
  allowedTypes?: readonly ArtifactType[];
  noVerify?: boolean;
  /** Sigstore trusted root for keyless and Rekor-checked signature policies (src/signature/default-root.ts). */
  trustedRoot?: TrustedRootSource;
  indexes: readonly IndexSource[];
  /** falcoctl's index cache (`$HOME/.config/falcoctl`). */
  cacheDir: string;
  /** Proxy variables for index downloads (src/index/backends.ts `proxyEnv`). */
  proxyEnv?: Record<string, string | undefined>;
  /** host:port serving /healthz and /metrics. */
  listen?: string;
  /**
   * Falco's /healthz: checked before each swap (unhealthy: no swap, retried later) and from
   * `settleMs` after it until healthy or `timeoutMs` (unhealthy: rollback).
   */
  healthUrl?: string;
  settleMs?: number;
  /** Signal sent to the pid in `pidFile` after each swap. */
  reloadSignal?: string;
  pidFile?: string;
  log: Logger;
  /** Aborted on SIGTERM/SIGINT: followers stop within the deadline, never mid-rename. */
  signal: AbortSignal;
}

/**
 * The follow daemon as `rulesctl artifact follow` runs it (falcoctl.md §11, issue 6): Falco's
 * versions read at start (and again before each update's requirement check), one follower per reference, the optional /healthz + /metrics server, until
 * `signal` aborts. A bad update is logged and skipped; the daemon never exits because of one.
 */
export async function followArtifacts(opts: FollowArtifactsOptions): Promise<DaemonResult> {
  const { log, signal } = opts;
  const falco = await readFalcoInfo(opts.falcoVersionsUrl, { timeoutMs: opts.timeoutMs, log, signal });
  log.info('Retrieved Falco versions', { engine_version_semver: falco.versions.engine_version_semver, falco_version: falco.versions.falco_version });
  const metrics = createFollowMetrics();
  const liveness = createLiveness({ now: Date.now });
  let server: FollowServer | undefined;
  try {
    const targets = await resolveFollowTargets(opts.refs, { indexes: opts.indexes, cacheDir: opts.cacheDir, log, signal, ...(opts.proxyEnv ? { proxyEnv: opts.proxyEnv } : {}) });
    await mkdir(opts.tmpDir, { recursive: true });
    const stale = await cleanStaleWorkDirs(opts.tmpDir);
    if (stale.length > 0) log.info('Removed leftover download directories', { directory: opts.tmpDir, removed: stale.length });
    const refs: FollowedRef[] = [];
    const versions = falcoVersionsSource(opts, falco);
    for (const t of targets) refs.push(await followedRef(t, opts, versions, metrics));
    if (opts.listen) {
      server = await startFollowServer({ listen: opts.listen, health: () => liveness.status(), metrics: () => metrics.render() });
      log.info('Serving /healthz and /metrics', { url: server.url });
    }
    return await runDaemon({
      refs, stateDir: opts.stateDir, schedule: opts.schedule, startupBehavior: opts.startupBehavior, signal, log, metrics, liveness,
      // Staging files a killed run left: next to installed files, and next to the state files.
      cleanDirs: [...new Set([...Object.values(opts.dirs), join(opts.stateDir, '.falcoctl', 'artifact-state')])],
      ...(opts.healthUrl ? { checkBeforeSwap: healthyBeforeSwap(healthProbe(opts.healthUrl)) } : {}),
    });
  } finally {
    await server?.close();
  }
}

/** The registry repository's referrers lookup, bound (a layout or memory target has none). */
function referrersOf(target: Target): UpdateContext['referrers'] {
  const r = (target as { referrers?: UpdateContext['referrers'] }).referrers;
  return r?.bind(target);
}

/** One GET of `/healthz`; not the shutdown signal: a SIGTERM during a check must not turn a good update into a rollback. */
function healthProbe(url: string): () => Promise<FalcoHealth> {
  return () => checkFalcoHealth(url, { signal: AbortSignal.timeout(10_000) });
}

/**
 * Falco's versions for the requirement checks of updates: `/versions` read again before each check
 * (one GET; the last answer when it fails). Falco loads plugin files only when it restarts, and
 * does not restart for a new plugin file (it watches config and rules files only), so a plugin this
 * daemon placed counts at its placed version, for the plugins Falco reports loaded: the rules swap
 * that needs it restarts Falco, which then loads it (and the health check judges the result).
 */
interface FalcoVersionsSource {
  /** The versions last read (at start, or by `read`), with the placed plugins. */
  known(): FalcoInfo;
  read(signal: AbortSignal): Promise<FalcoInfo>;
  pluginPlaced(name: string, version: string): void;
}

function falcoVersionsSource(opts: FollowArtifactsOptions, atStart: FalcoInfo): FalcoVersionsSource {
  let last = atStart;
  const placed = new Map<string, string>();
  const known = (): FalcoInfo => {
    const pluginVersions = { ...last.pluginVersions };
    for (const [name, version] of placed) if (name in pluginVersions) pluginVersions[name] = version;
    return { versions: last.versions, pluginVersions };
  };
  return {
    known,
    async read(signal) {
      try {
        last = await readFalcoInfo(opts.falcoVersionsUrl, { timeoutMs: 0, log: opts.log, signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) });
      } catch (err) {
        opts.log.debug('Unable to read Falco versions again, using the last ones read', { reason: (err as Error).message });
      }
      return known();
    },
    pluginPlaced: (name, version) => void placed.set(name, version),
  };
}

/** After an install: records a plugin's name and version, from the manifest and config the update read (`reads` has them). */
async function notePlugin(reads: Target, digest: string, falco: FalcoVersionsSource, opts: FollowArtifactsOptions, signal: AbortSignal): Promise<void> {
  try {
    const head = await fetchConfig(reads, digest, hostPlatform(), { signal });
    if (artifactTypeOfLayer(head.layerMediaType) !== 'plugin' || !head.config.name || !head.config.version) return;
    falco.pluginPlaced(head.config.name, head.config.version);
  } catch (err) {
    opts.log.debug('Unable to read the installed artifact\'s config again', { digest, reason: (err as Error).message });
  }
}

async function followedRef(t: FollowTarget, opts: FollowArtifactsOptions, falco: FalcoVersionsSource, metrics: FollowMetrics): Promise<FollowedRef> {
  const target = await opts.targets(t.resolved.reference);
  const lastGoodDir = join(opts.stateDir, '.rulesctl', 'last-good', createHash('sha256').update(t.ref).digest('hex').slice(0, 16));
  const { reloadSignal, pidFile, healthUrl } = opts;
  const ctx: UpdateContext = {
    ref: t.ref, target, repository: t.repository, platform: hostPlatform(), dirs: opts.dirs, tmpDir: opts.tmpDir, lastGoodDir,
    falcoVersions: falco.known().versions, pluginVersions: falco.known().pluginVersions,
    readFalcoVersions: (signal) => falco.read(signal),
    ...(opts.allowedTypes && opts.allowedTypes.length > 0 ? { allowedTypes: [...opts.allowedTypes] } : {}),
    signature: t.signature, noVerify: opts.noVerify ?? false, settleMs: opts.settleMs ?? 1000, log: opts.log, metrics,
    ...(opts.trustedRoot ? { trustedRoot: opts.trustedRoot } : {}),
    ...(referrersOf(target) ? { referrers: referrersOf(target)! } : {}),
    ...(reloadSignal && pidFile ? { reload: () => sendReloadSignal(pidFile, { signal: reloadSignal }) } : {}),
    ...(healthUrl ? { verify: () => waitForFalcoHealth(healthProbe(healthUrl), { timeoutMs: opts.timeoutMs }) } : {}),
  };
  return {
    ref: t.ref,
    headDigest: async (signal) => (await target.resolve(t.tagOrDigest, { signal })).digest,
    update: async (digest, signal, guard) => {
      const reads = memoizeSmallReads(target);
      const result = await updateOnce({ ...ctx, target: reads, beforeSwap: forgetStateDuringSwap(opts, t.ref) }, digest, signal, guard);
      if (result.outcome === 'installed') await notePlugin(reads, digest, falco, opts, signal);
      return result;
    },
  };
}

/**
 * The update's `beforeSwap`: the state file says which digest the files hold, so while they change
 * it claims neither. The old digest is written back once a rollback restored the old files (update.ts
 * does not call it when the rollback failed: the files may be the new version; the next start re-checks them).
 */
function forgetStateDuringSwap(opts: FollowArtifactsOptions, ref: string): () => Promise<() => Promise<void>> {
  return async () => {
    const previous = await readState(opts.stateDir, ref, { log: opts.log });
    await rm(statePath(opts.stateDir, ref), { force: true });
    return async () => {
      if (previous) await writeState(opts.stateDir, ref, previous.digest);
    };
  };
}
