import type { Logger } from '../log.js';
import type { Heartbeat } from './liveness.js';
import type { FollowMetricsSink } from './metrics.js';
import { defaultRandom, nextWait, startupDelay, type RandomFn, type Schedule, type StartupBehavior } from './schedule.js';

/**
 * One follower: the loop that keeps one reference up to date (falcoctl.md §11 "One check",
 * style.md practice 15, registries.md §1.I item 2). All time, I/O and randomness are injected.
 */

/** Outcome of `update` for a new digest. */
export type UpdateResult =
  | { outcome: 'installed' }
  /**
   * Definitive refusal of this digest (e.g. unmet requirements). `message` names both versions;
   * the digest is not retried until the tag moves again.
   */
  | { outcome: 'skipped'; reason: string; message: string };

export interface FollowDeps {
  /** One HEAD of the tag's manifest; the digest it points at. */
  headDigest(signal: AbortSignal): Promise<string>;
  /**
   * Pull, verify, check requirements, validate, stage, place, health-check (rolling back on
   * failure). Throws on failure; `err.details.retryAfterMs` / `err.details.status` (429, 5xx) make
   * this reference back off. Must not write the state file: the follower calls `persist`.
   */
  update(digest: string, signal: AbortSignal): Promise<UpdateResult>;
  /** Records an installed digest (the daemon writes the state file). Errors are warnings. */
  persist?(digest: string): Promise<void>;
  schedule: Schedule;
  /** Default `jitter`. */
  startupBehavior?: StartupBehavior;
  /** Digest already installed (from the state file). */
  initialDigest?: string;
  /** Resolves after `ms` (never more than {@link MAX_TIMER_MS}), or early (resolve or reject) once `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  now(): number;
  random?: RandomFn;
  signal: AbortSignal;
  log: Logger;
  metrics?: FollowMetricsSink;
  heartbeat?: Heartbeat;
  /** Ceiling of the exponential back-off after repeated throttling (default max(interval, 1 h)). */
  maxBackoffMs?: number;
}

interface TickResult {
  /** Set when the registry asked us to slow down (429/5xx). */
  throttle?: { retryAfterMs: number };
}

/**
 * Runs until `deps.signal` aborts. Each check sends one HEAD; an unchanged digest ends the check.
 * A changed one goes to `update`; the digest is kept only on success or definitive skip. Every
 * failure is logged with the reference and the loop continues. Resolves, never rejects.
 */
export async function follow(ref: string, deps: FollowDeps): Promise<void> {
  const { signal, now, heartbeat } = deps;
  const state = { current: deps.initialDigest, skipped: undefined as string | undefined, throttles: 0 };
  let wait = startupDelay(deps.schedule, deps.startupBehavior ?? 'jitter', now(), deps.random ?? defaultRandom);
  deps.log.debug('Delaying first check for new artifact version', { followerName: ref, delayMs: wait });
  for (;;) {
    heartbeat?.sleeping(ref, wait);
    if (!(await sleepUnlessAborted(deps, wait))) break;
    const result = await tick(ref, deps, state);
    if (signal.aborted) break;
    wait = nextWait(deps.schedule, now());
    if (result.throttle) {
      state.throttles++;
      wait = backoffWait(wait, result.throttle.retryAfterMs, state.throttles, deps.maxBackoffMs);
      deps.log.warn('Backing off', { followerName: ref, waitMs: wait });
    } else {
      state.throttles = 0;
    }
  }
  heartbeat?.stopped(ref);
  deps.log.info('Follower stopped', { followerName: ref });
}

/** The longest delay a Node timer holds (2^31-1 ms, 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Waits `ms` toward `now() + ms` in pieces of at most {@link MAX_TIMER_MS}, so a monthly cron or a
 * far Retry-After is not cut short; after each piece the clock is read again, and the wait ends
 * when either the clock or the pieces slept reach the target. False once `signal` aborts.
 */
async function sleepUnlessAborted(deps: FollowDeps, ms: number): Promise<boolean> {
  const until = deps.now() + ms;
  let left = ms;
  for (;;) {
    if (deps.signal.aborted) return false;
    const piece = Math.min(left, MAX_TIMER_MS);
    await deps.sleep(piece, deps.signal).catch(() => {});
    if (deps.signal.aborted) return false;
    left = Math.min(until - deps.now(), left - piece);
    if (left <= 0) return true;
  }
}

/** max(schedule, Retry-After, schedule × 2^(n-1) capped): never sooner than the registry asked. */
export function backoffWait(scheduled: number, retryAfterMs: number, consecutive: number, maxBackoffMs?: number): number {
  const cap = maxBackoffMs ?? Math.max(scheduled, 3_600_000);
  const exponential = Math.min(scheduled * 2 ** Math.max(0, consecutive - 1), cap);
  return Math.max(scheduled, retryAfterMs, exponential);
}

async function tick(
  ref: string,
  deps: FollowDeps,
  state: { current: string | undefined; skipped: string | undefined },
): Promise<TickResult> {
  const { log, metrics, heartbeat, signal } = deps;
  heartbeat?.busy(ref, 'check');
  let digest: string;
  try {
    metrics?.requests(ref);
    digest = await deps.headDigest(signal);
  } catch (err) {
    return failure(ref, deps, 'Unable to check for a new artifact version', err);
  } finally {
    metrics?.checked(ref, deps.now());
  }
  // A skip lasts while the tag points at that digest: once it moved, the digest gets a new chance.
  if (digest !== state.skipped) state.skipped = undefined;
  if (digest === state.current || digest === state.skipped) {
    log.debug('Nothing to do, artifact already up to date.', { followerName: ref, digest });
    if (digest === state.current) metrics?.succeeded(ref, deps.now(), digest);
    return {};
  }
  log.info('Found new artifact version', { followerName: ref, digest });
  heartbeat?.busy(ref, 'update');
  let result: UpdateResult;
  try {
    result = await deps.update(digest, signal);
  } catch (err) {
    return failure(ref, deps, 'Unable to update artifact', err, digest);
  }
  if (result.outcome === 'skipped') {
    state.skipped = digest;
    metrics?.failed(ref, result.reason);
    log.warn(result.message, { followerName: ref, digest, reason: result.reason });
    return {};
  }
  state.current = digest;
  state.skipped = undefined;
  metrics?.updated(ref, digest);
  metrics?.succeeded(ref, deps.now(), digest);
  log.info('Artifact correctly installed', { followerName: ref, digest });
  await deps.persist?.(digest).catch((err: unknown) => {
    log.warn('Unable to persist artifact state', { followerName: ref, reason: reasonOf(err) });
  });
  return {};
}

function failure(ref: string, deps: FollowDeps, msg: string, err: unknown, digest?: string): TickResult {
  if (deps.signal.aborted) {
    deps.log.debug(`${msg}: interrupted by shutdown`, { followerName: ref });
    return {};
  }
  const code = codeOf(err);
  deps.metrics?.failed(ref, code);
  const fields = { followerName: ref, ...(digest ? { digest } : {}), reason: reasonOf(err) };
  if (digest) deps.log.error(msg, fields);
  else deps.log.warn(msg, fields);
  return throttleOf(err);
}

function throttleOf(err: unknown): TickResult {
  const details = (err as { details?: Record<string, unknown> } | undefined)?.details;
  const retryAfterMs = typeof details?.retryAfterMs === 'number' ? details.retryAfterMs : undefined;
  const status = typeof details?.status === 'number' ? details.status : undefined;
  const throttled = retryAfterMs !== undefined || status === 429 || (status !== undefined && status >= 500);
  return throttled ? { throttle: { retryAfterMs: retryAfterMs ?? 0 } } : {};
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'unknown';
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
