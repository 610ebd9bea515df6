import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFalcoHealth, fetchFalcoVersions, healthzUrlFor, versionsBackoff, waitForFalcoHealth, type HttpGet } from '../../../src/follow/falco-client.js';
import { parseSignalName, sendReloadSignal } from '../../../src/follow/reload.js';

function fakeTime() {
  let t = 0;
  const sleeps: number[] = [];
  return { now: () => t, sleep: async (ms: number) => void (sleeps.push(ms), (t += ms)), sleeps };
}

describe('fetchFalcoVersions', () => {
  const URL_ = 'http://localhost:8765/versions';

  it('keeps only string values and accepts any status', async () => {
    const get: HttpGet = async () => ({ status: 500, body: '{"engine_version":"63","falco_version":"0.42.0","plugin_versions":{"json":"0.7.0"},"n":1}' });
    expect(await fetchFalcoVersions(URL_, { get })).toEqual({ engine_version: '63', falco_version: '0.42.0' });
  });

  it('retries transport errors with 1 s ×1.6 backoff until the timeout', async () => {
    const time = fakeTime();
    let calls = 0;
    const get: HttpGet = async () => {
      calls++;
      throw new Error('connect ECONNREFUSED 127.0.0.1:8765');
    };
    const err = await fetchFalcoVersions(URL_, { get, timeoutMs: 10_000, ...time }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect((err as Error).message).toMatch(/^unable to retrieve Falco versions, please check if it is running and correctly exposing the version endpoint: .*timeout occurred while retrieving versions from Falco/);
    expect(time.sleeps).toEqual([1000, 1600, 2560, 4096]);
    expect(calls).toBe(5);
  });

  it('succeeds after transient errors', async () => {
    const time = fakeTime();
    let calls = 0;
    const get: HttpGet = async () => {
      if (calls++ < 2) throw new Error('ECONNREFUSED');
      return { status: 200, body: '{"engine_version_semver":"0.63.0"}' };
    };
    expect(await fetchFalcoVersions(URL_, { get, ...time })).toEqual({ engine_version_semver: '0.63.0' });
  });

  it('rejects non-http URLs and non-object bodies', async () => {
    await expect(fetchFalcoVersions('/etc/falco/versions')).rejects.toMatchObject({ code: 'ERR_USAGE' });
    const get: HttpGet = async () => ({ status: 200, body: '[1]' });
    await expect(fetchFalcoVersions(URL_, { get })).rejects.toThrow(/expected a JSON object/);
  });

  it('makes a single attempt with timeoutMs 0 (the re-read before an update)', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const get: HttpGet = async () => {
      calls++;
      throw new Error('ECONNREFUSED');
    };
    // A clock that does not move: a retry loop would spin, so the fake sleep stops it.
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      if (sleeps.length > 3) throw new Error('still retrying');
    };
    await expect(fetchFalcoVersions(URL_, { get, timeoutMs: 0, now: () => 0, sleep })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(calls).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it('computes falcoctl backoff', () => {
    expect(versionsBackoff(0, 120_000)).toBe(1000);
    expect(versionsBackoff(1, 120_000)).toBe(1600);
    expect(versionsBackoff(20, 120_000)).toBe(120_000);
  });
});

describe('checkFalcoHealth', () => {
  it('is healthy only on 200 {"status": "ok"}', async () => {
    expect(await checkFalcoHealth('x', { get: async () => ({ status: 200, body: '{"status": "ok"}' }) })).toEqual({ healthy: true });
    expect(await checkFalcoHealth('x', { get: async () => ({ status: 503, body: '' }) })).toEqual({ healthy: false, reason: 'HTTP 503' });
    expect((await checkFalcoHealth('x', { get: async () => { throw new Error('down'); } })).healthy).toBe(false);
    expect(healthzUrlFor('http://localhost:8765/versions')).toBe('http://localhost:8765/healthz');
  });
});

describe('waitForFalcoHealth', () => {
  const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8765'), { code: 'ECONNREFUSED' });
  /** A probe over checkFalcoHealth whose GET plays `answers` in turn (the last one repeats). */
  function falco(answers: (number | 'refused')[]) {
    let i = 0;
    const get: HttpGet = async () => {
      const a = answers[Math.min(i++, answers.length - 1)]!;
      if (a === 'refused') throw refused();
      return { status: a, body: a === 200 ? '{"status": "ok"}' : '{"status": "error"}' };
    };
    return { probe: () => checkFalcoHealth('http://localhost:8765/healthz', { get }), calls: () => i };
  }

  it('reports a refused connection as restarting', async () => {
    expect(await falco(['refused']).probe()).toEqual({ healthy: false, reason: 'connect ECONNREFUSED 127.0.0.1:8765', restarting: true });
  });

  it('waits out a restart: refused connections, then healthy', async () => {
    const time = fakeTime();
    const f = falco(['refused', 'refused', 'refused', 200]);
    expect(await waitForFalcoHealth(f.probe, { timeoutMs: 120_000, ...time })).toEqual({ healthy: true });
    expect(time.sleeps).toEqual([500, 500, 500]);
  });

  it('gives up at the deadline when Falco never comes back', async () => {
    const time = fakeTime();
    const f = falco(['refused']);
    const h = await waitForFalcoHealth(f.probe, { timeoutMs: 10_000, pollMs: 1000, ...time });
    expect(h).toMatchObject({ healthy: false, restarting: true });
    expect(h.reason).toBe('connect ECONNREFUSED 127.0.0.1:8765 (no healthy answer within 10000 ms)');
    expect(time.sleeps).toHaveLength(10);
  });

  it('stops early after repeated unhealthy answers, counting only answers in a row', async () => {
    const time = fakeTime();
    const f = falco([500, 500, 'refused', 500, 500, 500, 200]);
    expect(await waitForFalcoHealth(f.probe, { timeoutMs: 120_000, ...time })).toEqual({ healthy: false, reason: 'HTTP 500' });
    expect(f.calls()).toBe(6);
  });
});

describe('sendReloadSignal', () => {
  it('signals the pid from the pid file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rulesctl-reload-'));
    try {
      const pidFile = join(dir, 'falco.pid');
      await writeFile(pidFile, '4242\n');
      const sent: [number, string][] = [];
      expect(await sendReloadSignal(pidFile, { kill: (p, s) => void sent.push([p, s]) })).toBe(4242);
      expect(await sendReloadSignal(pidFile, { signal: 'usr1', kill: (p, s) => void sent.push([p, s]) })).toBe(4242);
      expect(sent).toEqual([[4242, 'SIGHUP'], [4242, 'SIGUSR1']]);
      await expect(sendReloadSignal(join(dir, 'none'))).rejects.toMatchObject({ code: 'ERR_IO' });
      await expect(sendReloadSignal(pidFile, { kill: () => { throw new Error('ESRCH'); } })).rejects.toThrow(/cannot send SIGHUP/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('validates signal names', () => {
    expect(parseSignalName('hup')).toBe('SIGHUP');
    expect(() => parseSignalName('SIGNOPE')).toThrow(/unknown signal/);
  });
});
