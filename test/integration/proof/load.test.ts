/**
 * Issue 8, Load: 500 small rulesfile artifacts on the local registry (pushed with the library).
 * - `artifact install` of 200 full refs in one run: every file whole, a bounded number of requests
 *   per artifact; the warm re-run changes nothing and only resolves each ref.
 * - `artifact follow` of 500 refs (state seeded by install) for several ticks: exactly one HEAD per
 *   ref per tick and no GET while nothing changes (counted at the fault proxy), memory flat (RSS of
 *   the child sampled every tick), no file descriptor leak (/proc/<pid>/fd before and after ticks).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullArtifact } from '../../../src/artifact/pull.js';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import { testEnv } from '../../cli/_run.js';
import { startFalcoStandIn, type FalcoStandIn } from '../../helpers/falco-stand-in.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { inLanes, installFlags, leftovers, PLATFORM, proofDirs, publish, publisher, sha256, spawnRulesctl, type ProofDirs } from '../../helpers/proof/proof.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { tmpDir } from '../../helpers/tmp.js';

const reg = getRegistries().open;
const pub = publisher();
const N = 500;
const INSTALL_N = 200;
const base = uniqueRepo('proof/load');
const repoOf = (i: number): string => `${base}/a${i}`;
const contentOf = (i: number): string => `- list: proof_load_${i}\n  items: [${i}]\n`;
const fileOf = (i: number): string => `proof_load_${i}.yaml`;
let proxy: FaultProxy;
let falco: FalcoStandIn;
let d: ProofDirs;

beforeAll(async () => {
  await inLanes(N, 12, (i) => publish(pub.repository({ registry: reg.host, repository: repoOf(i) }), { name: `proof-load-${i}`, version: '1.0.0', content: contentOf(i) }));
  proxy = await startFaultProxy({ upstream: reg.url });
  falco = await startFalcoStandIn();
  d = await proofDirs('proof-load');
}, 180_000);
afterAll(async () => {
  await proxy?.close();
  await falco?.close();
  await pub.close();
});

const refs = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, k) => `${proxy.host}/${repoOf(from + k)}:1.0.0`);
const mine = (i: number) => (r: { path: string }): boolean => r.path.startsWith(`/v2/${repoOf(i)}/`);

async function install(list: string[]): Promise<{ code: number | undefined; lines: Record<string, unknown>[] }> {
  const run = spawnRulesctl(['artifact', 'install', ...list, ...installFlags(d)], testEnv(d.home));
  const r = await run.proc;
  return { code: r.exitCode, lines: run.lines };
}

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}
const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
/** Open descriptors of `pid` split into sockets (pooled connections) and everything else (files, pipes, watchers). */
function fdKinds(pid: number): { sockets: number; other: number } {
  let sockets = 0;
  let other = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
      else other++;
    } catch {
      // closed while listing
    }
  }
  return { sockets, other };
}

describe('load', () => {
  it(`installs ${INSTALL_N} artifacts in one run; the warm re-run only resolves`, { timeout: 180_000 }, async () => {
    proxy.reset();
    const cold = await install(refs(0, INSTALL_N));
    expect(cold.code, JSON.stringify(cold.lines.slice(-5))).toBe(0);
    const files = readdirSync(d.rules).sort();
    expect(files).toEqual(Array.from({ length: INSTALL_N }, (_, i) => fileOf(i)).sort());
    for (let i = 0; i < INSTALL_N; i++) expect(sha256(readFileSync(join(d.rules, fileOf(i))))).toBe(sha256(contentOf(i)));
    expect(leftovers(d.rules)).toEqual([]);
    // Per artifact: resolve + manifest + config + layer (+ a referrers/signature probe at most): bounded, and no retry storm.
    const perArtifact = Array.from({ length: INSTALL_N }, (_, i) => proxy.requests.filter(mine(i)).length);
    console.log(`install of ${INSTALL_N}: ${proxy.requests.length} requests, per artifact min ${Math.min(...perArtifact)} max ${Math.max(...perArtifact)}`);
    expect(Math.max(...perArtifact)).toBeLessThanOrEqual(8);
    expect(proxy.requests.filter((r) => r.status >= 400 && r.status !== 404).length).toBe(0);

    const layers = new Set<string>();
    await inLanes(INSTALL_N, 12, async (i) => {
      const m = await pub.repository({ registry: reg.host, repository: repoOf(i) }).fetchManifest('1.0.0');
      layers.add((JSON.parse(m.bytes.toString()) as { layers: { digest: string }[] }).layers[0]!.digest);
    });
    proxy.reset();
    const warm = await install(refs(0, INSTALL_N));
    expect(warm.code).toBe(0);
    const blobGets = proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'));
    const warmPer = Array.from({ length: INSTALL_N }, (_, i) => proxy.requests.filter(mine(i)).length);
    console.log(`warm install of ${INSTALL_N}: ${proxy.requests.length} requests, ${blobGets.length} blob GETs, per artifact max ${Math.max(...warmPer)}`);
    // Nothing changed: no layer is downloaded again, at most 2 requests per artifact, and nothing is rewritten.
    expect(blobGets.filter((r) => layers.has(r.path.split('/blobs/')[1]!))).toEqual([]);
    expect(Math.max(...warmPer)).toBeLessThanOrEqual(2);
    expect(readdirSync(d.rules).sort()).toEqual(files);
  });

  it(`follows ${N} references for several ticks: one HEAD per ref per tick, flat memory, no fd leak`, { timeout: 180_000 }, async () => {
    // Seed the state of the other refs, so that every follower starts up to date.
    const seed = await install(refs(INSTALL_N, N));
    expect(seed.code).toBe(0);
    proxy.reset();
    const all = refs(0, N);
    const run = spawnRulesctl([
      '--log-level', 'debug', 'artifact', 'follow', ...all, '--every', '2s', '--startup-behavior', 'immediate', '--plain-http',
      '--falco-versions', falco.versionsUrl, '--rulesfiles-dir', d.rules, '--plugins-dir', d.plugins,
      '--state-dir', d.state, '--tmp-dir', d.tmp, '--allowed-types', 'rulesfile',
    ], testEnv(d.home));
    const pid = run.proc.pid!;
    const checks = (): number => run.lines.filter((l) => l.msg === 'Nothing to do, artifact already up to date.').length;
    const samples: { checks: number; rssKb: number; sockets: number; other: number }[] = [];
    const TICKS = 7;
    try {
      for (let tick = 1; tick <= TICKS; tick++) {
        const end = Date.now() + 30_000;
        while (checks() < tick * N && Date.now() < end) await delay(50);
        expect(checks(), `tick ${tick}`).toBeGreaterThanOrEqual(tick * N);
        samples.push({ checks: checks(), rssKb: rssKb(pid), ...fdKinds(pid) });
      }
    } finally {
      run.proc.kill('SIGTERM');
    }
    const r = await run.proc;
    expect(r.exitCode).toBe(0);
    console.log(`follow of ${N} refs, per tick: ${samples.map((s) => `checks=${s.checks} rss=${Math.round(s.rssKb / 1024)}MB sockets=${s.sockets} other fds=${s.other}`).join(' | ')}`);
    // Memory flat: growth between tick 2 and the last tick under 50 MB.
    expect(samples.at(-1)!.rssKb - samples[1]!.rssKb).toBeLessThan(50 * 1024);
    // No descriptor leak across ticks: files, pipes and watchers stay the same; sockets are the
    // keep-alive pool, whose size follows each tick's burst of HEADs and stays bounded.
    expect(samples.at(-1)!.other - samples[0]!.other).toBeLessThanOrEqual(2);
    expect(Math.max(...samples.map((x) => x.sockets))).toBeLessThanOrEqual(N);
    // Requests as designed: every check was one HEAD of the ref's tag; no GET at all, nothing else.
    const heads = proxy.requests.filter((x) => x.method === 'HEAD');
    const total = checks();
    expect(proxy.requests.filter((x) => x.method !== 'HEAD' && x.path !== '/v2/')).toEqual([]);
    expect(heads.every((x) => /\/manifests\/1\.0\.0$/.test(x.path))).toBe(true);
    // A HEAD in flight at SIGTERM has no log line ("interrupted by shutdown"): at most one per ref.
    expect(heads.length).toBeGreaterThanOrEqual(total);
    expect(heads.length - total).toBeLessThanOrEqual(N);
    for (let i = 0; i < N; i += 50) {
      const perRef = heads.filter(mine(i)).length;
      const logged = run.lines.filter((l) => l.msg === 'Nothing to do, artifact already up to date.' && l.followerName === all[i]).length;
      expect(perRef - logged).toBeGreaterThanOrEqual(0);
      expect(perRef - logged).toBeLessThanOrEqual(1);
      expect(perRef).toBeGreaterThanOrEqual(TICKS - 2); // per-ref timers drift by a tick at most
    }
  });

  it('library: 100 pulls (half refused mid-body) leave no descriptor open once the client is closed', { timeout: 120_000 }, async () => {
    proxy.reset();
    proxy.setRules([{ method: 'GET', path: new RegExp(`^/v2/${base}/a[0-9]*[13579]/blobs/`), kind: 'append', bytes: 'TRAILING' }]);
    /** 100 pulls through a fresh client, closed at the end; returns how many were refused. */
    const round = async (): Promise<number> => {
      const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 5, maxMs: 20 } });
      let refused = 0;
      await inLanes(100, 8, async (i) => {
        const dest = tmpDir('proof-load-pull');
        const r = await pullArtifact(client.repository({ registry: proxy.host, repository: repoOf(i) }), '1.0.0', { platform: PLATFORM, destDir: dest, extract: true })
          .then(() => 'ok', (e: { code?: string }) => e.code);
        expect(r).toBe(i % 2 === 1 ? 'ERR_SIZE_MISMATCH' : 'ok');
        if (r !== 'ok') refused++;
        expect(leftovers(dest)).toEqual([]);
      });
      await client.close();
      await delay(200);
      return refused;
    };
    // The fault proxy lives in this process: a first round opens its pooled upstream sockets.
    expect(await round()).toBe(50);
    const before = fds(process.pid);
    expect(await round()).toBe(50);
    const after = fds(process.pid);
    console.log(`test process descriptors around 100 library pulls: ${before} -> ${after}`);
    expect(after - before).toBeLessThanOrEqual(2);
  });
});
