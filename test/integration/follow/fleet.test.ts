import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import { startFalcoStandIn, type FalcoStandIn } from '../../helpers/falco-stand-in.js';
import { getRegistries, startRegistry, uniqueRepo, type AccessLogEntry, type RunningRegistry } from '../../helpers/registries.js';
import { BIN, followArgs, followDirs, pushPlugin, pushRules, rules, spawnCli, until } from './_follow.js';

/**
 * The fleet story with two local registries (issue 6 "A fleet of hosts"): a pull-through proxy
 * forwards every by-tag request upstream; `registry sync` keeps an in-cluster registry current with
 * one HEAD per artifact per pass upstream; `registry.mirrors` sends followers to the in-cluster
 * registry and falls back to upstream (with a warning) when the mirror is down.
 */

const client = createRegistryClient({ plainHttp: true });
let dst: RunningRegistry;
let proxy: RunningRegistry;
let falco: FalcoStandIn;

beforeAll(async () => {
  dst = await startRegistry({ name: 'incluster' });
  proxy = await startRegistry({ name: 'pullthrough', proxy: { remoteurl: getRegistries().open.url } });
  falco = await startFalcoStandIn();
});
afterAll(async () => {
  await falco?.close();
  await proxy?.stop();
  await dst?.stop();
});

const upstream = () => getRegistries().open;
const forRepo = (log: AccessLogEntry[], repo: string) => log.filter((e) => e.path.startsWith(`/v2/${repo}/`));

/** An index cached under HOME naming the plugin, so dependencies resolve without network. */
function withIndex(d: ReturnType<typeof followDirs>, entries: { name: string; repository: string; type: string }[]): void {
  mkdirSync(join(d.home, '.config', 'falcoctl', 'indexes'), { recursive: true });
  const yaml = entries.map((e) => `- name: ${e.name}\n  type: ${e.type}\n  registry: ${upstream().host}\n  repository: ${e.repository}\n  description: t\n  home: https://example.com\n  keywords: [t]\n  license: apache-2.0\n  maintainers: [{email: a@b.c, name: t}]\n  sources: [https://example.com]\n`).join('');
  writeFileSync(join(d.home, '.config', 'falcoctl', 'indexes', 'test.yaml'), yaml);
  writeFileSync(d.config, `indexes:\n  - name: test\n    url: http://127.0.0.1:9/index.yaml\n`);
}

async function sync(d: ReturnType<typeof followDirs>, args: string[]) {
  return execa('node', [BIN, '--config', d.config, 'registry', 'sync', upstream().host, dst.host, ...args, '--plain-http', '-o', 'json'], {
    env: { HOME: d.home }, reject: false,
  });
}

describe('pull-through proxy (distribution proxy.remoteurl)', () => {
  it('forwards every by-tag HEAD upstream, so it does not cut polling', async () => {
    const repo = uniqueRepo('fleet/proxy');
    await pushRules(upstream().host, repo, '1', rules('p', 3));
    const before = forRepo(await upstream().accessLog(), repo).length;
    const through = client.repository({ registry: proxy.host, repository: repo });
    for (let i = 0; i < 5; i++) await through.resolve('1');
    const up = forRepo(await upstream().accessLog(), repo).slice(before);
    expect(up.filter((e) => e.method === 'HEAD' && e.path === `/v2/${repo}/manifests/1`).length).toBeGreaterThanOrEqual(5);
  });
});

describe('registry sync SRC DST', () => {
  it('copies by tag with dependencies and all platforms, then costs one upstream HEAD per artifact per pass', async () => {
    const rulesRepo = uniqueRepo('fleet/rules');
    const pluginRepo = uniqueRepo('fleet/plugin');
    const pluginDigest = await pushPlugin(upstream().host, pluginRepo, '0.2.0', 'fleetplug', '0.2.0');
    const rulesDigest = await pushRules(upstream().host, rulesRepo, '3', rules('fleet', 5), { name: 'fleet-rules', dependencies: [{ name: 'fleetplug', version: '0.2.0' }] });
    const d = followDirs();
    withIndex(d, [{ name: 'fleetplug', repository: pluginRepo, type: 'plugin' }, { name: 'fleet-rules', repository: rulesRepo, type: 'rulesfile' }]);

    const first = await sync(d, ['fleet-rules:3']);
    expect(first.exitCode, first.stderr).toBe(0);
    const r1 = JSON.parse(first.stdout) as { outcomes: { ref: string; status: string; dependency: boolean }[]; copied: number };
    expect(r1.outcomes.map((o) => [o.ref, o.status, o.dependency])).toEqual([
      [`${upstream().host}/${rulesRepo}:3`, 'copied', false],
      [`${upstream().host}/${pluginRepo}:0.2.0`, 'copied', true],
    ]);
    const inDst = client.repository({ registry: dst.host, repository: pluginRepo });
    expect((await inDst.resolve('0.2.0')).digest).toBe(pluginDigest);
    const idx = JSON.parse((await inDst.fetchManifest('0.2.0')).bytes.toString()) as { manifests: { digest: string; platform: { architecture: string } }[] };
    expect(idx.manifests.map((m) => m.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
    for (const m of idx.manifests) expect((await inDst.fetchManifest(m.digest)).descriptor.digest).toBe(m.digest);
    expect((await client.repository({ registry: dst.host, repository: rulesRepo }).resolve('3')).digest).toBe(rulesDigest);

    // Second pass: nothing changed upstream → exactly one HEAD per artifact upstream, no GET.
    const before = await upstream().accessLog();
    const second = await sync(d, ['fleet-rules:3']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect((JSON.parse(second.stdout) as { unchanged: number }).unchanged).toBe(2);
    const after = (await upstream().accessLog()).slice(before.length);
    for (const [repo, tag] of [[rulesRepo, '3'], [pluginRepo, '0.2.0']] as const) {
      const mine = forRepo(after, repo);
      expect(mine.map((e) => `${e.method} ${e.path}`)).toEqual([`HEAD /v2/${repo}/manifests/${tag}`]);
    }
  });

  it('runs on a schedule (--every), picks up a new upstream version and stops on SIGTERM', async () => {
    const repo = uniqueRepo('fleet/every');
    await pushRules(upstream().host, repo, 'latest', rules('e1', 3));
    const d = followDirs();
    const p = spawnCli(['registry', 'sync', upstream().host, dst.host, `${upstream().host}/${repo}:latest`, '--plain-http', '--every', '1s'], d);
    const inDst = client.repository({ registry: dst.host, repository: repo });
    await p.waitFor((l) => l.msg === 'Artifact synced');
    const v2 = await pushRules(upstream().host, repo, 'latest', rules('e2', 3), { version: '2.0.0' });
    await until(async () => (await inDst.resolve('latest').catch(() => undefined))?.digest === v2, 20_000, 'the new version in DST');
    p.proc.kill('SIGTERM');
    expect((await p.proc).exitCode).toBe(0);
  });
});

describe('registry.mirrors', () => {
  it('follows through the in-cluster mirror (no upstream request), and falls back to upstream with a warning when it is down', async () => {
    const repo = uniqueRepo('fleet/mirror');
    const A = rules('mirrored', 4);
    await pushRules(upstream().host, repo, '1', A);
    const d0 = followDirs();
    expect((await sync(d0, [`${upstream().host}/${repo}:1`])).exitCode).toBe(0);

    const d = followDirs(`registry:\n  mirrors:\n    "${upstream().host}": ["http://${dst.host}"]\n`);
    const before = (await upstream().accessLog()).length;
    const f = spawnCli(followArgs(d, falco.versionsUrl, [`${upstream().host}/${repo}:1`]), d);
    await f.waitFor((l) => l.msg === 'Artifact correctly installed');
    f.proc.kill('SIGTERM');
    expect((await f.proc).exitCode).toBe(0);
    expect(readFileSync(join(d.rules, 'falco_rules.yaml'), 'utf8')).toBe(A);
    expect(forRepo((await upstream().accessLog()).slice(before), repo)).toEqual([]);
    expect(forRepo(await dst.accessLog(), repo).some((e) => e.method === 'HEAD')).toBe(true);

    const down = followDirs(`registry:\n  mirrors:\n    "${upstream().host}": ["http://127.0.0.1:9"]\n`);
    const g = spawnCli(followArgs(down, falco.versionsUrl, [`${upstream().host}/${repo}:1`]), down);
    const warn = await g.waitFor((l) => l.level === 'WARN' && l.msg === 'Mirror failed, trying the next source');
    expect(String(warn.mirror)).toContain('127.0.0.1:9');
    await g.waitFor((l) => l.msg === 'Artifact correctly installed');
    g.proc.kill('SIGTERM');
    expect((await g.proc).exitCode).toBe(0);
    expect(readFileSync(join(down.rules, 'falco_rules.yaml'), 'utf8')).toBe(A);
  });
});
