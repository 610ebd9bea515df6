import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPlacementGuard, runDaemon, type FollowedRef } from '../../../src/follow/daemon.js';
import { createLiveness } from '../../../src/follow/liveness.js';
import { everySchedule } from '../../../src/follow/schedule.js';
import { readState, writeState } from '../../../src/install/state.js';
import { memoryLogger } from '../../../src/log.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'rulesctl-daemon-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

/** Resolves once `cond()` holds (polling; no timing assertion). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await delay(2);
}

const base = () => ({ stateDir, schedule: everySchedule(5), startupBehavior: 'immediate' as const, log: memoryLogger() });

describe('runDaemon', () => {
  it('seeds digests from the state file so an unchanged artifact is not reinstalled', async () => {
    await writeState(stateDir, 'reg/rules:5', D('a'));
    const ctrl = new AbortController();
    let heads = 0;
    let updates = 0;
    const ref: FollowedRef = {
      ref: 'reg/rules:5',
      headDigest: async () => (heads++, D('a')),
      update: async () => (updates++, { outcome: 'installed' }),
    };
    const opts = { ...base(), refs: [ref], signal: ctrl.signal };
    const run = runDaemon(opts);
    await until(() => heads >= 3);
    ctrl.abort();
    expect(await run).toEqual({ stoppedCleanly: true });
    expect(updates).toBe(0);
    const msgs = opts.log.records.map((r) => r.msg);
    expect(msgs.slice(-3)).toEqual(['Closing followers...', 'Follower stopped', 'Followers correctly stopped.']);
  });

  it('removes staging files left by a killed process at start', async () => {
    const rulesDir = await mkdtemp(join(tmpdir(), 'rulesctl-daemon-rules-'));
    try {
      const leftover = join(rulesDir, `.falco_rules.yaml.rulesctl-${process.pid}-abcd.tmp`);
      await writeFile(leftover, 'half');
      const ctrl = new AbortController();
      ctrl.abort();
      const opts = { ...base(), refs: [], signal: ctrl.signal, cleanDirs: [rulesDir] };
      await runDaemon(opts);
      expect(await readdir(rulesDir)).toEqual([]);
      expect(opts.log.records[0]).toMatchObject({ msg: 'Removed leftover staging files', fields: { files: [leftover] } });
    } finally {
      await rm(rulesDir, { recursive: true, force: true });
    }
  });

  it('lets an in-flight placement finish before stopping, and records the digest', async () => {
    const ctrl = new AbortController();
    const events: string[] = [];
    const ref: FollowedRef = {
      ref: 'reg/rules:5',
      headDigest: async () => D('b'),
      update: async (_digest, signal, guard) => {
        await guard.run(async () => {
          events.push('placing');
          ctrl.abort();
          await delay(50);
          events.push(`placed (signal aborted: ${signal.aborted})`);
        });
        return { outcome: 'installed' };
      },
    };
    const opts = { ...base(), refs: [ref], signal: ctrl.signal };
    const result = await runDaemon(opts);
    events.push('daemon returned');
    expect(events).toEqual(['placing', 'placed (signal aborted: true)', 'daemon returned']);
    expect(result.stoppedCleanly).toBe(true);
    expect((await readState(stateDir, 'reg/rules:5'))?.digest).toBe(D('b'));
  });

  it('stops within the deadline when a follower hangs, but still waits for placements', async () => {
    const ctrl = new AbortController();
    let placed = false;
    const hung: FollowedRef = { ref: 'reg/hung:1', headDigest: () => new Promise<string>(() => {}), update: async () => ({ outcome: 'installed' }) };
    const slow: FollowedRef = {
      ref: 'reg/slow:1',
      headDigest: async () => D('c'),
      update: async (_d, _s, guard) => {
        await guard.run(async () => {
          ctrl.abort();
          await delay(80);
          placed = true;
        });
        return { outcome: 'installed' };
      },
    };
    const opts = { ...base(), refs: [hung, slow], signal: ctrl.signal, shutdownTimeoutMs: 10 };
    const result = await runDaemon(opts);
    expect(result.stoppedCleanly).toBe(false);
    expect(placed).toBe(true);
    expect(opts.log.records.at(-1)!.msg).toBe('Timed out waiting for followers to exit');
  });

  it('keeps running after a bad update and reports liveness', async () => {
    const ctrl = new AbortController();
    let clock = 0;
    const liveness = createLiveness({ now: () => clock, graceMs: 100, opTimeoutMs: 1000 });
    let calls = 0;
    const ref: FollowedRef = {
      ref: 'reg/rules:5',
      headDigest: async () => D('d'),
      update: async () => {
        calls++;
        throw new Error('bad rules');
      },
    };
    const opts = { ...base(), refs: [ref], signal: ctrl.signal, liveness };
    const run = runDaemon(opts);
    await until(() => calls >= 3);
    expect(liveness.status().healthy).toBe(true);
    ctrl.abort();
    await run;
    expect(opts.log.records.filter((r) => r.level === 'error').length).toBeGreaterThanOrEqual(3);
  });
});

describe('createPlacementGuard', () => {
  it('tracks running sections', async () => {
    const g = createPlacementGuard();
    let release!: () => void;
    const p = g.run(() => new Promise<void>((r) => (release = r)));
    expect(g.active).toBe(1);
    const idle = g.idle();
    release();
    await p;
    await idle;
    expect(g.active).toBe(0);
  });
});

describe('createPlacementGuard exclusive', () => {
  it('runs one section at a time, in order, and never starts a waiting one after the signal', async () => {
    const stop = new AbortController();
    const g = createPlacementGuard({ signal: stop.signal });
    const log: string[] = [];
    let release!: () => void;
    const first = g.exclusive(async () => {
      log.push('first:start');
      await new Promise<void>((r) => (release = r));
      log.push('first:end');
    });
    const second = g.exclusive(async () => void log.push('second')).catch((e: unknown) => e);
    await until(() => log.length > 0);
    expect(g.active).toBe(2);
    stop.abort();
    release();
    await first;
    expect(await second).toMatchObject({ code: 'ERR_ABORTED' });
    expect(log).toEqual(['first:start', 'first:end']);
    await g.idle();
    expect(g.active).toBe(0);
  });

  it('gives every follower of a daemon the same guard', async () => {
    const ctrl = new AbortController();
    let inside = 0;
    let most = 0;
    let sections = 0;
    const ref = (name: string): FollowedRef => ({
      ref: name,
      headDigest: async () => D(String(sections)),
      update: (_digest, _signal, guard) =>
        guard.exclusive(async () => {
          most = Math.max(most, ++inside);
          await delay(1);
          inside--;
          sections++;
          return { outcome: 'installed' as const };
        }),
    });
    const run = runDaemon({ ...base(), refs: [ref('reg/a:1'), ref('reg/b:1'), ref('reg/c:1')], signal: ctrl.signal });
    await until(() => sections >= 12);
    ctrl.abort();
    await run;
    expect(most).toBe(1);
  });
});

describe('liveness', () => {
  it('flags a loop past its wake-up plus grace, and an operation past its timeout', () => {
    let now = 0;
    const l = createLiveness({ now: () => now, graceMs: 10, opTimeoutMs: 100 });
    l.register('a');
    l.register('b');
    l.sleeping('a', 50);
    l.busy('b', 'check');
    now = 55;
    expect(l.status()).toEqual({ healthy: true, stuck: [] });
    now = 101;
    expect(l.status().stuck).toEqual([
      { ref: 'a', reason: 'no check started for 0s past its scheduled time' },
      { ref: 'b', reason: 'stuck in check for 0s' },
    ]);
    l.stopped('a');
    l.sleeping('b', 1000);
    expect(l.status().healthy).toBe(true);
  });
});
