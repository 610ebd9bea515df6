import { describe, expect, it } from 'vitest';
import { RulesctlError, ErrorCodes } from '../../../src/errors.js';
import { backoffWait, follow, retryWait, type FollowDeps, type UpdateResult } from '../../../src/follow/follower.js';
import { createFollowMetrics } from '../../../src/follow/metrics.js';
import { cronSchedule, everySchedule } from '../../../src/follow/schedule.js';
import { memoryLogger } from '../../../src/log.js';
import { fakeClock, settle, type FakeClock } from './_fake-clock.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;

interface Harness {
  clock: FakeClock;
  ctrl: AbortController;
  log: ReturnType<typeof memoryLogger>;
  heads: number[];
  updates: string[];
  persisted: string[];
  done: Promise<void>;
}

function start(
  ref: string,
  opts: {
    clock?: FakeClock;
    ctrl?: AbortController;
    head: (n: number) => string | Error;
    update?: (digest: string, n: number) => UpdateResult | Error;
    initialDigest?: string;
    extra?: Partial<FollowDeps>;
  },
): Harness {
  const clock = opts.clock ?? fakeClock();
  const ctrl = opts.ctrl ?? new AbortController();
  const log = memoryLogger();
  const h: Harness = { clock, ctrl, log, heads: [], updates: [], persisted: [], done: Promise.resolve() };
  h.done = follow(ref, {
    headDigest: async () => {
      const r = opts.head(h.heads.push(clock.now()) - 1);
      if (r instanceof Error) throw r;
      return r;
    },
    update: async (digest) => {
      const r = (opts.update ?? (() => ({ outcome: 'installed' }) as const))(digest, h.updates.push(digest) - 1);
      if (r instanceof Error) throw r;
      return r;
    },
    persist: async (digest) => void h.persisted.push(digest),
    schedule: everySchedule(1000),
    startupBehavior: 'immediate',
    initialDigest: opts.initialDigest,
    sleep: clock.sleep,
    now: clock.now,
    random: () => 0.5,
    signal: ctrl.signal,
    log,
    ...opts.extra,
  });
  return h;
}

async function stop(h: Harness): Promise<void> {
  h.ctrl.abort();
  await h.done;
}

describe('follow', () => {
  it('sends one HEAD per tick and nothing else while the digest is unchanged', async () => {
    const h = start('reg/rules:5', { head: () => D('a'), initialDigest: D('a') });
    await h.clock.advanceTo(10_500);
    await stop(h);
    expect(h.heads).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]);
    expect(h.updates).toEqual([]);
    expect(h.persisted).toEqual([]);
    expect(h.log.records.filter((r) => r.level === 'warn' || r.level === 'error')).toEqual([]);
  });

  it('measures the next wait from the end of the previous check', async () => {
    const clock = fakeClock();
    const h = start('reg/rules:5', {
      clock,
      head: () => (clock.spend(300), D('a')),
      initialDigest: D('a'),
    });
    await clock.advanceTo(3000);
    await stop(h);
    expect(h.heads).toEqual([0, 1300, 2600]);
    expect(clock.waits).toEqual([0, 1000, 1000, 1000]);
  });

  it('updates only when the digest changes and persists the new one', async () => {
    const seq = [D('a'), D('a'), D('b'), D('b'), D('b')];
    const h = start('reg/rules:5', { head: (n) => seq[n] ?? D('b'), initialDigest: D('a') });
    await h.clock.advanceTo(4500);
    await stop(h);
    expect(h.heads).toHaveLength(5);
    expect(h.updates).toEqual([D('b')]);
    expect(h.persisted).toEqual([D('b')]);
    expect(h.log.records.some((r) => r.msg === 'Found new artifact version' && r.fields.digest === D('b'))).toBe(true);
  });

  it('logs a failed update with the reference and reason, keeps looping and retries', async () => {
    const h = start('reg/rules:5', {
      head: () => D('b'),
      update: (_d, n) => (n === 0 ? new RulesctlError(ErrorCodes.INVALID_RULES, 'rules do not parse') : { outcome: 'installed' }),
    });
    await h.clock.advanceTo(3500);
    await stop(h);
    const err = h.log.records.find((r) => r.level === 'error');
    expect(err).toMatchObject({ msg: 'Unable to update artifact', fields: { followerName: 'reg/rules:5', digest: D('b'), reason: 'rules do not parse' } });
    expect(h.updates).toEqual([D('b'), D('b')]);
    expect(h.persisted).toEqual([D('b')]);
    expect(h.heads).toHaveLength(4);
  });

  it('logs a failed HEAD at warn and goes on', async () => {
    const h = start('reg/rules:5', { head: (n) => (n < 2 ? new Error('connect ECONNREFUSED') : D('a')) });
    await h.clock.advanceTo(2500);
    await stop(h);
    expect(h.log.records.filter((r) => r.level === 'warn')).toHaveLength(2);
    expect(h.log.records.find((r) => r.level === 'warn')!.fields).toMatchObject({ followerName: 'reg/rules:5', reason: 'connect ECONNREFUSED' });
    expect(h.updates).toEqual([D('a')]);
  });

  it('does not retry a digest refused for a permanent reason, but takes the next one', async () => {
    const seq = [D('b'), D('b'), D('b'), D('c')];
    const h = start('reg/rules:5', {
      head: (n) => seq[n] ?? D('c'),
      initialDigest: D('a'),
      update: (d) =>
        d === D('b')
          ? { outcome: 'skipped', reason: 'type-not-allowed', message: 'Not installing reg/rules:5: artifact type rulesfile is not allowed' }
          : { outcome: 'installed' },
    });
    await h.clock.advanceTo(4500);
    await stop(h);
    expect(h.updates).toEqual([D('b'), D('c')]);
    expect(h.persisted).toEqual([D('c')]);
    const warns = h.log.records.filter((r) => r.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]!.msg).toBe('Not installing reg/rules:5: artifact type rulesfile is not allowed; not tried again until the tag points to another digest');
  });

  it('tries a digest refused for unmet requirements again after 1m, 2m, 4m, and installs it once they hold', async () => {
    const unmet = 'Unmet requirements, not installing reg/rules:5: requires plugin container 0.4.0, Falco reports 0.3.0';
    const h = start('reg/rules:5', {
      head: () => D('b'),
      initialDigest: D('a'),
      update: (_d, n) => (n < 3 ? { outcome: 'skipped', reason: 'requirements', message: unmet } : { outcome: 'installed' }),
      extra: { schedule: everySchedule(3_600_000) },
    });
    await h.clock.advanceTo(3_000_000);
    await stop(h);
    expect(h.heads).toEqual([0, 60_000, 180_000, 420_000]);
    expect(h.updates).toEqual([D('b'), D('b'), D('b'), D('b')]);
    expect(h.persisted).toEqual([D('b')]);
    const warns = h.log.records.filter((r) => r.level === 'warn');
    expect(warns.map((r) => r.fields.retryInMs)).toEqual([60_000, 120_000, 240_000]);
    expect(warns[0]).toMatchObject({
      msg: `${unmet}; will try this digest again in 1m0s (at 1970-01-01T00:01:00.000Z)`,
      fields: { followerName: 'reg/rules:5', digest: D('b'), reason: 'requirements', attempt: 1, retryAt: '1970-01-01T00:01:00.000Z' },
    });
  });

  it('caps the retry of a rolled-back digest at the schedule, and starts over for the next digest', async () => {
    const seq = [D('b'), D('b'), D('b'), D('b'), D('b'), D('c'), D('c')];
    const h = start('reg/rules:5', {
      head: (n) => seq[n] ?? D('c'),
      initialDigest: D('a'),
      update: () => ({ outcome: 'skipped', reason: 'rolled-back', message: 'Rolled back reg/rules:5' }),
      extra: { schedule: everySchedule(300_000) },
    });
    await h.clock.advanceTo(1_150_000);
    await stop(h);
    expect(h.clock.waits).toEqual([0, 60_000, 120_000, 240_000, 300_000, 300_000, 60_000, 120_000]);
    expect(h.updates).toEqual([D('b'), D('b'), D('b'), D('b'), D('b'), D('c'), D('c')]);
    expect(h.persisted).toEqual([]);
  });

  it('tries a skipped digest again once the tag moved away and back (B skipped, A, B)', async () => {
    const seq = [D('b'), D('b'), D('a'), D('b'), D('b')];
    const h = start('reg/rules:5', {
      head: (n) => seq[n] ?? D('b'),
      initialDigest: D('a'),
      update: (d, n) =>
        d === D('b') && n === 0 ? { outcome: 'skipped', reason: 'invalid-rules', message: 'Invalid rules in reg/rules:5' } : { outcome: 'installed' },
    });
    await h.clock.advanceTo(4500);
    await stop(h);
    expect(h.heads).toHaveLength(5);
    expect(h.updates).toEqual([D('b'), D('b')]);
    expect(h.persisted).toEqual([D('b')]);
  });

  it('backs off one reference on 429 Retry-After while another keeps its schedule', async () => {
    const clock = fakeClock();
    const ctrl = new AbortController();
    const throttled = new RulesctlError(ErrorCodes.REGISTRY, 'toomanyrequests', { details: { status: 429, retryAfterMs: 5000 } });
    const a = start('reg/a:1', { clock, ctrl, head: (n) => (n === 0 ? throttled : D('a')), initialDigest: D('a') });
    const b = start('reg/b:1', { clock, ctrl, head: () => D('b'), initialDigest: D('b') });
    await clock.advanceTo(7500);
    ctrl.abort();
    await Promise.all([a.done, b.done]);
    expect(a.heads).toEqual([0, 5000, 6000, 7000]);
    expect(b.heads).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000]);
    expect(a.log.records.some((r) => r.msg === 'Backing off' && r.fields.waitMs === 5000)).toBe(true);
  });

  it('uses the startup jitter before the first check', async () => {
    const h = start('reg/rules:5', { head: () => D('a'), initialDigest: D('a'), extra: { startupBehavior: 'jitter' } });
    await h.clock.advanceTo(1600);
    await stop(h);
    expect(h.heads).toEqual([500, 1500]);
    expect(h.clock.waits[0]).toBe(500);
  });

  it('stops promptly when aborted during a sleep and records metrics', async () => {
    const metrics = createFollowMetrics();
    const h = start('reg/rules:5', { head: () => D('b'), initialDigest: D('a'), extra: { metrics } });
    await h.clock.advanceTo(100);
    await stop(h);
    await settle();
    const text = metrics.render();
    expect(text).toContain(`rulesctl_follow_artifact_info{ref="reg/rules:5",digest="${D('b')}"} 1`);
    expect(text).toContain('rulesctl_follow_updates_total{ref="reg/rules:5"} 1');
    expect(text).toContain('rulesctl_follow_registry_requests_total{ref="reg/rules:5"} 1');
    expect(h.log.records.at(-1)).toMatchObject({ msg: 'Follower stopped' });
  });
});

describe('follow with waits longer than a timer holds', () => {
  const DAY = 86_400_000;
  const MAX_TIMER = 2 ** 31 - 1;
  /** Node's setTimeout: a delay over 2^31-1 ms (24.8 days) fires after 1 ms. */
  const nodeLike = (clock: FakeClock): FollowDeps['sleep'] => (ms, signal) => clock.sleep(ms > MAX_TIMER ? 1 : ms, signal);
  /** The tag never moves; a runaway loop is stopped after a few HEADs so the assertion, not a timeout, reports it. */
  const steady = (ctrl: AbortController) => (n: number) => (n >= 5 && ctrl.abort(), D('a'));

  it('--every 744h: no check before the 31 days are over, one right after', async () => {
    const clock = fakeClock();
    const ctrl = new AbortController();
    const h = start('reg/rules:5', {
      clock, ctrl, head: steady(ctrl), initialDigest: D('a'),
      extra: { schedule: everySchedule(31 * DAY), sleep: nodeLike(clock) },
    });
    await clock.advanceTo(31 * DAY - 1);
    expect(h.heads).toEqual([0]);
    await clock.advanceTo(31 * DAY);
    await stop(h);
    expect(h.heads).toEqual([0, 31 * DAY]);
    expect(Math.max(...clock.waits)).toBeLessThanOrEqual(MAX_TIMER);
  });

  it('--cron @monthly right after a fire (Dec 1 to Jan 1) and startup skip with @yearly', async () => {
    const dec1 = Date.parse('2026-12-01T00:00:05Z');
    const jan1 = Date.parse('2027-01-01T00:00:00Z');
    const clock = fakeClock(dec1);
    const ctrl = new AbortController();
    const monthly = start('reg/m:1', {
      clock, ctrl, head: steady(ctrl), initialDigest: D('a'),
      extra: { schedule: cronSchedule('CRON_TZ=UTC @monthly'), sleep: nodeLike(clock) },
    });
    const yearly = start('reg/y:1', {
      clock, ctrl, head: steady(ctrl), initialDigest: D('a'),
      extra: { schedule: cronSchedule('CRON_TZ=UTC @yearly'), startupBehavior: 'skip', sleep: nodeLike(clock) },
    });
    await clock.advanceTo(jan1 - 1);
    expect(monthly.heads).toEqual([dec1]);
    expect(yearly.heads).toEqual([]);
    await clock.advanceTo(jan1);
    ctrl.abort();
    await Promise.all([monthly.done, yearly.done]);
    expect(monthly.heads).toEqual([dec1, jan1]);
    expect(yearly.heads).toEqual([jan1]);
  });

  it('a 429 with a Retry-After of 40 days is honoured, and shutdown still interrupts the wait', async () => {
    const clock = fakeClock();
    const ctrl = new AbortController();
    const throttled = new RulesctlError(ErrorCodes.REGISTRY, 'toomanyrequests', { details: { status: 429, retryAfterMs: 40 * DAY } });
    const h = start('reg/rules:5', {
      clock, ctrl, head: (n) => (n === 0 ? throttled : steady(ctrl)(n)), initialDigest: D('a'),
      extra: { sleep: nodeLike(clock), maxBackoffMs: 60 * DAY },
    });
    await clock.advanceTo(30 * DAY);
    expect(h.heads).toEqual([0]);
    await stop(h);
    expect(h.log.records.at(-1)).toMatchObject({ msg: 'Follower stopped' });
    expect(h.heads).toEqual([0]);
  });
});

describe('backoffWait', () => {
  it('never goes below the schedule or Retry-After and grows to a cap', () => {
    expect(backoffWait(1000, 5000, 1)).toBe(5000);
    expect(backoffWait(1000, 0, 3)).toBe(4000);
    expect(backoffWait(1000, 0, 30, 60_000)).toBe(60_000);
    expect(backoffWait(7_200_000, 10, 1)).toBe(7_200_000);
  });
});

describe('retryWait', () => {
  it('doubles from its base and never passes the scheduled wait', () => {
    expect(retryWait(1000, 1)).toBe(1000);
    expect(retryWait(3_600_000, 3)).toBe(240_000);
    expect(retryWait(3_600_000, 1, 5000)).toBe(5000);
    expect(retryWait(3_600_000, 2000)).toBe(3_600_000);
  });
});
