import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startFalcoStandIn, type FalcoStandIn } from '../../helpers/falco-stand-in.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { followArgs, followDirs, pushRules, rules, spawnCli } from './_follow.js';

/**
 * The polling cost of follow, counted at a proxy in front of the registry: one HEAD of the tag per
 * reference per tick, and no GET at all (manifest or blob) while the digest does not change.
 */

let proxy: FaultProxy | undefined;
let falco: FalcoStandIn | undefined;
afterEach(async () => {
  await proxy?.close();
  await falco?.close();
  proxy = undefined;
  falco = undefined;
});

describe('artifact follow request budget', () => {
  it('sends exactly one HEAD per ref per tick and no GET while unchanged', async () => {
    const open = getRegistries().open;
    proxy = await startFaultProxy({ upstream: open.url });
    const repos = [uniqueRepo('follow/budget-a'), uniqueRepo('follow/budget-b')];
    for (const [i, r] of repos.entries()) await pushRules(open.host, r, '1', rules(`r${i}`, 5), { fileName: `r${i}.yaml` });
    const d = followDirs();
    falco = await startFalcoStandIn();
    const refs = repos.map((r) => `${proxy!.host}/${r}:1`);
    const f = spawnCli(followArgs(d, falco.versionsUrl, refs, ['--log-level', 'debug']), d);
    const checks = (ref: string) => f.lines().filter((l) => l.followerName === ref && (l.msg === 'Nothing to do, artifact already up to date.' || l.msg === 'Found new artifact version')).length;
    const installedAt = new Map<string, number>();
    for (const ref of refs) {
      await f.waitFor((l) => l.followerName === ref && l.msg === 'Artifact correctly installed');
    }
    for (const ref of refs) installedAt.set(ref, checks(ref));
    // Several idle ticks.
    const until = Date.now() + 20_000;
    while (refs.some((ref) => checks(ref) < installedAt.get(ref)! + 4) && Date.now() < until) await delay(50);
    f.proc.kill('SIGTERM');
    expect((await f.proc).exitCode).toBe(0);

    for (const [i, repo] of repos.entries()) {
      const ref = refs[i]!;
      const mine = proxy.requests.filter((r) => r.path.startsWith(`/v2/${repo}/`));
      const heads = mine.filter((r) => r.method === 'HEAD' && r.path === `/v2/${repo}/manifests/1`);
      const gets = mine.filter((r) => r.method === 'GET');
      expect(checks(ref)).toBeGreaterThanOrEqual(installedAt.get(ref)! + 4);
      // One HEAD per check, nothing else by tag.
      expect(heads).toHaveLength(checks(ref));
      expect(mine.filter((r) => r.method === 'HEAD')).toHaveLength(checks(ref));
      // GETs only for the single install (by digest: manifest, config, layer), however many ticks followed.
      expect(gets.every((r) => /\/(manifests|blobs)\/sha256:/.test(r.path))).toBe(true);
      expect(gets.filter((r) => r.path.includes('/manifests/'))).toHaveLength(1);
      expect(gets.filter((r) => r.path.includes('/blobs/'))).toHaveLength(2);
    }
    expect(readFileSync(join(d.rules, 'r0.yaml'), 'utf8')).toBe(rules('r0', 5));
  });

  it('backs off a throttled ref (429 Retry-After) without delaying the others', async () => {
    const open = getRegistries().open;
    proxy = await startFaultProxy({ upstream: open.url });
    const [slow, fast] = [uniqueRepo('follow/throttled'), uniqueRepo('follow/free')];
    await pushRules(open.host, slow, '1', rules('s', 2), { fileName: 's.yaml' });
    await pushRules(open.host, fast, '1', rules('f', 2), { fileName: 'f.yaml' });
    proxy.setRules([{ kind: 'respond', method: 'HEAD', path: new RegExp(`^/v2/${slow}/manifests/`), status: 429, headers: { 'retry-after': '1' }, body: { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] } }]);
    const d = followDirs();
    falco = await startFalcoStandIn();
    const [slowRef, fastRef] = [`${proxy.host}/${slow}:1`, `${proxy.host}/${fast}:1`];
    const f = spawnCli(followArgs(d, falco.versionsUrl, [slowRef, fastRef], ['--log-level', 'debug']), d);
    const backing = await f.waitFor((l) => l.level === 'WARN' && l.msg === 'Backing off' && l.followerName === slowRef, 30_000);
    expect(Number(backing.waitMs)).toBeGreaterThanOrEqual(1000);
    const fastChecks = () => f.lines().filter((l) => l.followerName === fastRef && /Nothing to do|Found new/.test(String(l.msg))).length;
    const end = Date.now() + 20_000;
    while (fastChecks() < 5 && Date.now() < end) await delay(50);
    f.proc.kill('SIGTERM');
    expect((await f.proc).exitCode).toBe(0);
    expect(fastChecks()).toBeGreaterThanOrEqual(5);
    expect(readFileSync(join(d.rules, 'f.yaml'), 'utf8')).toBe(rules('f', 2));
    const warn = f.lines().find((l) => l.level === 'WARN' && l.msg === 'Unable to check for a new artifact version' && l.followerName === slowRef);
    expect(String(warn?.reason)).toMatch(/429|TOOMANYREQUESTS|slow down/i);
  });
});
