import { formatGoDuration } from '../config/duration.js';
import type { Logger } from '../log.js';
import type { Heartbeat } from './liveness.js';
import type { FollowMetricsSink } from './metrics.js';
import { defaultRandom, nextWait, startupDelay, type RandomFn, type Schedule, type StartupBehavior } from './schedule.js';

/**
 * One follower: the loop that keeps one reference up to date (falcoctl.md §11 "One check",
 * style.md practice 15, registries.md §1.I item 2). All time, I/O and randomness are injected.
 */

/**
 * Why `update` refuses a digest, and what the follower does with it while the tag stays on it:
 * `permanent`, the digest is not tried again until the tag points elsewhere; `retry`, the same
 * digest is tried again after a back-off ({@link retryWait}), because the cause can clear without a
 * new artifact. The one place this policy is decided.
 */
export const REFUSALS = {
  /** The layer's type is not in `--allowed-types`. */
  'type-not-allowed': 'permanent',
  /** A YAML file of a rules artifact has errors. */
  'invalid-rules': 'permanent',
  /** The registry's bytes do not match the digest, or the digest is malformed. */
  'bad-digest': 'permanent',
  /** The artifact is signed, but no signature satisfies the policy. */
  signature: 'permanent',
  /** No signature yet: publishers often sign right after pushing. */
  unsigned: 'retry',
  /** Falco's versions change once the plugin follower installs a plugin and Falco reloads. */
  requirements: 'retry',
  /** Falco was unhealthy after the swap (files restored); it may have been restarting anyway. */
  'rolled-back': 'retry',
} as const satisfies Record<string, 'permanent' | 'retry'>;

export type RefusalReason = keyof typeof REFUSALS;

/** Outcome of `update` for a new digest. */
export type UpdateResult =
  | { outcome: 'installed' }
  /** Refusal of this digest, handled as {@link REFUSALS} says. `message` names what failed (both versions for requirements). */
  | { outcome: 'skipped'; reason: RefusalReason; message: string };

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
  /** First wait before a refused digest is tried again (default 60 s; doubles, capped at the schedule). */
  retryBaseMs?: number;
}

interface TickResult {
  /** Set when the registry asked us to slow down (429/5xx). */
  throttle?: { retryAfterMs: number };
  /** Set when `update` refused the digest for a reason that can clear ({@link REFUSALS}). */
  retry?: { digest: string; attempt: number; reason: RefusalReason; message: string };
}

interface FollowState {
  current: string | undefined;
  /** A permanently refused digest, while the tag points at it. */
  skipped: string | undefined;
  /** A digest refused for a reason that can clear, while the tag points at it. */
  retrying: { digest: string; attempts: number } | undefined;
  throttles: number;
}

const DEFAULT_RETRY_BASE_MS = 60_000;

/**
 * Runs until `deps.signal` aborts. Each check sends one HEAD; an unchanged digest ends the check.
 * A changed one goes to `update`; the digest is kept only on success or permanent refusal, and a
 * refusal that can clear is tried again after a back-off. Every failure is logged with the
 * reference and the loop continues. Resolves, never rejects.
 */
export async function follow(ref: string, deps: FollowDeps): Promise<void> {
  const { signal, now, heartbeat } = deps;
  const state: FollowState = { current: deps.initialDigest, skipped: undefined, retrying: undefined, throttles: 0 };
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
      if (result.retry) wait = announceRetry(ref, deps, result.retry, wait);
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

/** Wait before trying a refused digest again: `base` × 2^(attempt-1), never later than the scheduled check. */
export function retryWait(scheduled: number, attempt: number, baseMs = DEFAULT_RETRY_BASE_MS): number {
  return Math.min(scheduled, baseMs * 2 ** Math.max(0, attempt - 1));
}

function announceRetry(ref: string, deps: FollowDeps, retry: NonNullable<TickResult['retry']>, scheduled: number): number {
  const wait = retryWait(scheduled, retry.attempt, deps.retryBaseMs);
  const retryAt = new Date(deps.now() + wait).toISOString();
  deps.log.warn(`${retry.message}; will try this digest again in ${formatGoDuration(wait)} (at ${retryAt})`, {
    followerName: ref, digest: retry.digest, reason: retry.reason, attempt: retry.attempt, retryInMs: wait, retryAt,
  });
  return wait;
}

async function tick(ref: string, deps: FollowDeps, state: FollowState): Promise<TickResult> {
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
  if (digest !== state.retrying?.digest) state.retrying = undefined;
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
    metrics?.failed(ref, result.reason);
    if (REFUSALS[result.reason] === 'retry') {
      state.retrying = { digest, attempts: (state.retrying?.attempts ?? 0) + 1 };
      return { retry: { digest, attempt: state.retrying.attempts, reason: result.reason, message: result.message } };
    }
    state.skipped = digest;
    log.warn(`${result.message}; not tried again until the tag points to another digest`, { followerName: ref, digest, reason: result.reason });
    return {};
  }
  state.current = digest;
  state.skipped = undefined;
  state.retrying = undefined;
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
