/**
 * Follower heartbeats behind the sidecar's `/healthz`. A follower is unhealthy when it has not
 * started its next check by the time it announced plus a grace period (a stalled loop), or when one
 * operation (HEAD, update) has run longer than a timeout (a hung request).
 */

/** What a follower reports about itself. */
export interface Heartbeat {
  /** About to wait `ms` before the next check. */
  sleeping(ref: string, ms: number): void;
  /** Started an operation (`check`, `update`). */
  busy(ref: string, op: string): void;
  /** The loop ended (shutdown). */
  stopped(ref: string): void;
}

export interface StuckFollower {
  ref: string;
  reason: string;
}

export interface LivenessStatus {
  healthy: boolean;
  stuck: StuckFollower[];
}

export interface Liveness extends Heartbeat {
  /** Declares a follower before its loop starts (counts as sleeping for `graceMs`). */
  register(ref: string): void;
  status(): LivenessStatus;
}

export interface LivenessOptions {
  now: () => number;
  /** Slack after an announced wake-up (default 60 s). */
  graceMs?: number;
  /** Longest a single operation may run (default 10 min). */
  opTimeoutMs?: number;
}

type State = { kind: 'sleeping'; until: number } | { kind: 'busy'; op: string; since: number } | { kind: 'stopped' };

/** Creates the heartbeat registry; pure over the injected clock. */
export function createLiveness(opts: LivenessOptions): Liveness {
  const graceMs = opts.graceMs ?? 60_000;
  const opTimeoutMs = opts.opTimeoutMs ?? 600_000;
  const states = new Map<string, State>();
  const secs = (ms: number) => `${Math.round(ms / 1000)}s`;
  const check = (ref: string, s: State, now: number): StuckFollower | undefined => {
    if (s.kind === 'sleeping' && now > s.until + graceMs) {
      return { ref, reason: `no check started for ${secs(now - s.until)} past its scheduled time` };
    }
    if (s.kind === 'busy' && now - s.since > opTimeoutMs) {
      return { ref, reason: `stuck in ${s.op} for ${secs(now - s.since)}` };
    }
    return undefined;
  };
  return {
    register: (ref) => void states.set(ref, { kind: 'sleeping', until: opts.now() }),
    sleeping: (ref, ms) => void states.set(ref, { kind: 'sleeping', until: opts.now() + ms }),
    busy: (ref, op) => void states.set(ref, { kind: 'busy', op, since: opts.now() }),
    stopped: (ref) => void states.set(ref, { kind: 'stopped' }),
    status: () => {
      const now = opts.now();
      const stuck = [...states].flatMap(([ref, s]) => check(ref, s, now) ?? []);
      return { healthy: stuck.length === 0, stuck };
    },
  };
}
