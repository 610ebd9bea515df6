import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { cleanStaleStaging } from '../install/staging.js';
import { readState, writeState } from '../install/state.js';
import type { Logger } from '../log.js';
import { follow, type FollowDeps, type UpdateResult } from './follower.js';
import type { Liveness } from './liveness.js';
import type { FollowMetricsSink } from './metrics.js';
import type { RandomFn, Schedule, StartupBehavior } from './schedule.js';

/**
 * `artifact follow` as a daemon: one follower per reference, shared state file, shutdown with a
 * deadline that never cuts a placement in half (falcoctl.md §11, style.md practice 15).
 */

/**
 * Marks critical sections (file placement) that shutdown must not interrupt. `run` executes `fn`
 * to completion whatever happens to the daemon's signal; `idle` resolves when none is running.
 * `exclusive` is `run` one section at a time across every user of the guard: the daemon shares one
 * guard between its followers, so one ref's place → reload → health check → rollback never
 * interleaves with another's (two refs may ship the same file, and Falco's health is one).
 */
export interface PlacementGuard {
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** A section still waiting for its turn when the guard's signal aborts never starts (ERR_ABORTED). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  idle(): Promise<void>;
  /** Sections running or waiting for their turn. */
  readonly active: number;
}

export interface PlacementGuardOptions {
  /** The daemon's stop signal: exclusive sections not yet started are refused once it aborts. */
  signal?: AbortSignal;
  /** Runs at the start of each exclusive section, on its turn; when it throws, `fn` does not run. */
  before?: () => Promise<void>;
}

export function createPlacementGuard(opts: PlacementGuardOptions = {}): PlacementGuard {
  const running = new Set<Promise<unknown>>();
  let turn: Promise<unknown> = Promise.resolve();
  const guard: PlacementGuard = {
    async run(fn) {
      const p = fn();
      running.add(p);
      try {
        return await p;
      } finally {
        running.delete(p);
      }
    },
    exclusive(fn) {
      const mine = turn.then(async () => {
        if (opts.signal?.aborted) throw new RulesctlError(ErrorCodes.ABORTED, 'stopping: the file swap was not started');
        await opts.before?.();
        return fn();
      });
      turn = mine.catch(() => {});
      return guard.run(() => mine);
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    get active() {
      return running.size;
    },
  };
  return guard;
}

export interface FollowedRef {
  /** Resolved reference (`registry/repo:tag`), also the state file key. */
  ref: string;
  headDigest(signal: AbortSignal): Promise<string>;
  /** Wrap the place/reload/check/rollback phase in `guard.exclusive` (shutdown waits, refs take turns). */
  update(digest: string, signal: AbortSignal, guard: PlacementGuard): Promise<UpdateResult>;
}

export interface DaemonOptions {
  refs: FollowedRef[];
  stateDir: string;
  schedule: Schedule;
  startupBehavior: StartupBehavior;
  /** SIGINT/SIGTERM from the CLI. */
  signal: AbortSignal;
  log: Logger;
  now?: () => number;
  random?: RandomFn;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  metrics?: FollowMetricsSink;
  liveness?: Liveness;
  /** Destination directories to clear of staging files left by a killed process, at start. */
  cleanDirs?: string[];
  /** How long to wait for followers after the signal (falcoctl: 5 s). In-flight placements always finish. */
  shutdownTimeoutMs?: number;
  /**
   * Runs on each swap's turn before any file moves (e.g. `healthyBeforeSwap`); when it throws, the
   * swap does not happen and the update fails with its error (retried, not a refusal).
   */
  checkBeforeSwap?: () => Promise<void>;
}

export interface DaemonResult {
  /** False when followers were still running at the deadline. */
  stoppedCleanly: boolean;
}

/** Default sleep: resolves after `ms` or as soon as `signal` aborts. */
export const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => {});

/**
 * Seeds each follower from the state file, runs them all until `signal` aborts, then logs
 * `Closing followers...` and waits up to the deadline (`Followers correctly stopped.` or
 * `Timed out waiting for followers to exit`). Never rejects because of one reference.
 */
export async function runDaemon(opts: DaemonOptions): Promise<DaemonResult> {
  const now = opts.now ?? Date.now;
  const loops = new AbortController();
  const guard = createPlacementGuard({ signal: loops.signal, ...(opts.checkBeforeSwap ? { before: opts.checkBeforeSwap } : {}) });
  const followers: Promise<void>[] = [];
  for (const dir of opts.cleanDirs ?? []) {
    const removed = await cleanStaleStaging(dir);
    if (removed.length > 0) opts.log.info('Removed leftover staging files', { directory: dir, files: removed });
  }
  for (const r of opts.refs) {
    const seeded = await readState(opts.stateDir, r.ref, { log: opts.log });
    if (seeded) opts.metrics?.setDigest(r.ref, seeded.digest);
    opts.liveness?.register(r.ref);
    opts.log.info('Starting follower', { artifact: r.ref, schedule: opts.schedule.description });
    followers.push(follow(r.ref, followDeps(r, seeded?.digest, opts, guard, loops.signal, now)));
  }
  if (!opts.signal.aborted) {
    await new Promise<void>((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  opts.log.info('Closing followers...');
  loops.abort();
  const all = Promise.all(followers).then(() => true);
  const deadline = delay(opts.shutdownTimeoutMs ?? 5000, false, { ref: false });
  const stoppedCleanly = await Promise.race([all, deadline]);
  await guard.idle();
  opts.log.info(stoppedCleanly ? 'Followers correctly stopped.' : 'Timed out waiting for followers to exit');
  return { stoppedCleanly };
}

function followDeps(
  r: FollowedRef,
  initialDigest: string | undefined,
  opts: DaemonOptions,
  guard: PlacementGuard,
  signal: AbortSignal,
  now: () => number,
): FollowDeps {
  return {
    headDigest: (s) => r.headDigest(s),
    update: (digest, s) => r.update(digest, s, guard),
    persist: async (digest) => {
      await guard.run(() => writeState(opts.stateDir, r.ref, digest, { now }));
    },
    schedule: opts.schedule,
    startupBehavior: opts.startupBehavior,
    initialDigest,
    sleep: opts.sleep ?? abortableSleep,
    now,
    random: opts.random,
    signal,
    log: opts.log,
    metrics: opts.metrics,
    heartbeat: opts.liveness,
  };
}
