/**
 * What a warm `artifact install` costs the registry, counted at a proxy in front of the real
 * docker-registry: one HEAD per artifact manifest (plus the tag list that highest-compatible
 * dependency resolution needs), everything else from the metadata cache under
 * `<stateDir>/.rulesctl/meta`. A tag moved on the registry is installed at once; a corrupted cache
 * entry is fetched again.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArtifact } from '../../../src/artifact/build.js';
import { pushArtifact } from '../../../src/artifact/push.js';
import { loadMergedIndex } from '../../../src/index/merged.js';
import { install, type InstallRequest } from '../../../src/install/install.js';
import { digestOf } from '../../../src/oci/descriptor.js';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import { createTargetFactory } from '../../../src/oci/targets.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { tmpDir } from '../../helpers/tmp.js';
import { PLATFORM, destinations, publish, writeIndex } from './_publish.js';

const reg = getRegistries().open;
const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 10, maxMs: 100 } });
const targets = createTargetFactory({ client });
let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy({ upstream: reg.url });
});
afterAll(async () => {
  await proxy?.close();
  await client.close();
});

/** Pushes a linux/amd64 + linux/arm64 plugin (an image index) straight to the registry. */
async function publishPlugin(repository: string, name: string, version: string, build = 'first build'): Promise<string> {
  const dir = tmpDir('warm-plugin');
  const files = ['amd64', 'arm64'].map((arch) => {
    mkdirSync(join(dir, arch));
    const path = join(dir, arch, `lib${name}.so`);
    writeFileSync(path, `${name} ${version} for ${arch} (${build})`);
    return { path, platform: `linux/${arch}` };
  });
  const built = await buildArtifact({ type: 'plugin', name, version, files, created: '2025-01-01T00:00:00Z', workDir: join(dir, 'work') });
  try {
    return (await pushArtifact(targetAt(reg.host, repository), built, { tags: [version] })).rootDigest;
  } finally {
    await built.dispose();
  }
}

function targetAt(host: string, repository: string) {
  return client.repository({ registry: host, repository });
}

/** The requests the proxy saw since the last reset, as `METHOD path`, `/v2/` pings aside. */
const seen = (): string[] => proxy.requests.filter((r) => r.path !== '/v2/').map((r) => `${r.method} ${r.path}`);

describe('warm artifact install request budget', () => {
  it('costs one HEAD per manifest (plus the dependency tag list) when nothing changed; a moved tag is installed; a corrupt cache entry is fetched again', async () => {
    const prefix = uniqueRepo('install/warm');
    const rulesRepo = `${prefix}/rules`;
    const pluginRepo = `${prefix}/plugin`;
    // Published to the registry directly; installed through the proxy (index and refs name the proxy).
    const indexUrl = await writeIndex(tmpDir('warm-index'), [
      { name: 'warm-rules', type: 'rulesfile', registry: proxy.host, repository: rulesRepo },
      { name: 'warm-plugin', type: 'plugin', registry: proxy.host, repository: pluginRepo },
    ]);
    const index = () => loadMergedIndex([{ name: 'test', url: indexUrl }]);
    for (const v of ['0.1.0', '0.1.2']) await publishPlugin(pluginRepo, 'warm-plugin', v);
    await publish(targetAt(reg.host, rulesRepo), {
      type: 'rulesfile', name: 'warm-rules', version: '1.0.0', tags: ['1.0.0', 'latest'], content: '- list: warm_v1\n  items: []\n',
      dependencies: [{ name: 'warm-plugin', version: '0.1.0' }],
    });
    const d = await destinations();
    const req: InstallRequest = { refs: [`${proxy.host}/${rulesRepo}:latest`], ...d, allowedTypes: [], platform: PLATFORM, resolveDeps: true, noVerify: false };
    const rulesFile = join(d.rulesfilesDir, 'warm_rules.yaml');
    const pluginFile = join(d.pluginsDir, 'libwarm-plugin.so');
    const m = (method: string, repo: string, rest: string) => `${method} /v2/${repo}/${rest}`;

    // Cold: manifests, index, platform manifest and configs are fetched (by tag after the HEAD).
    proxy.reset();
    const cold = await install(req, { targets, index });
    expect(cold.installed.map((a) => `${a.name} ${a.version}`).sort()).toEqual(['warm-plugin 0.1.2', 'warm-rules 1.0.0']);
    const coldSeen = seen();
    expect(coldSeen.filter((r) => r.startsWith('GET') && r.includes('/manifests/'))).toHaveLength(3);
    expect(coldSeen.filter((r) => r.startsWith('GET') && r.includes('/blobs/'))).toHaveLength(4);
    console.log(`cold install requests:\n  ${coldSeen.join('\n  ')}`);

    // Warm: exactly these three requests, no manifest or blob GET.
    proxy.reset();
    const warm = await install(req, { targets, index });
    expect(warm.installed).toEqual([]);
    expect(warm.unchanged.map((a) => `${a.name} ${a.version}`).sort()).toEqual(['warm-plugin 0.1.2', 'warm-rules 1.0.0']);
    expect(seen()).toEqual([
      m('HEAD', rulesRepo, 'manifests/latest'),
      m('GET', pluginRepo, 'tags/list?n=1000'),
      m('HEAD', pluginRepo, 'manifests/0.1.2'),
    ]);
    console.log(`warm install requests:\n  ${seen().join('\n  ')}`);

    // A new process (a fresh client): the three requests share one connection (undici closes it
    // after a HEAD unless told otherwise, and hands out a connection only once it has drained).
    const fresh = createRegistryClient({ plainHttp: true, retry: { baseMs: 10, maxMs: 100 } });
    try {
      proxy.reset();
      const again = await install(req, { targets: createTargetFactory({ client: fresh }), index });
      expect(again.unchanged).toHaveLength(2);
      expect(seen()).toHaveLength(3);
      expect(proxy.connections()).toBe(1);
    } finally {
      await fresh.close();
    }

    // A registry whose HEAD omits Docker-Content-Digest: the manifest is GET by tag (resolve's
    // fallback), its digest found in the cache, so still no second manifest GET and no blob GET.
    proxy.reset();
    proxy.setRules([{ method: 'HEAD', path: /\/manifests\//, kind: 'replace', body: '', headers: { 'docker-content-digest': '' } }]);
    const noDigest = await install(req, { targets, index });
    expect(noDigest.unchanged).toHaveLength(2);
    expect(seen()).toEqual([
      m('HEAD', rulesRepo, 'manifests/latest'), m('GET', rulesRepo, 'manifests/latest'),
      m('GET', pluginRepo, 'tags/list?n=1000'),
      m('HEAD', pluginRepo, 'manifests/0.1.2'), m('GET', pluginRepo, 'manifests/0.1.2'),
    ]);

    // Both tags move (same tags, new content and versions): the cache does not hide the update.
    const newRules = await publish(targetAt(reg.host, rulesRepo), {
      type: 'rulesfile', name: 'warm-rules', version: '1.1.0', tags: ['1.1.0', 'latest'], content: '- list: warm_v2\n  items: []\n',
      dependencies: [{ name: 'warm-plugin', version: '0.1.0' }],
    });
    const newPlugin = await publishPlugin(pluginRepo, 'warm-plugin', '0.1.2', 'rebuilt');
    proxy.reset();
    const moved = await install(req, { targets, index });
    expect(moved.installed.map((a) => [a.name, a.version, a.digest]).sort()).toEqual([['warm-plugin', '0.1.2', newPlugin], ['warm-rules', '1.1.0', newRules]]);
    expect(await readFile(rulesFile, 'utf8')).toBe('- list: warm_v2\n  items: []\n');
    expect(await readFile(pluginFile, 'utf8')).toBe('warm-plugin 0.1.2 for amd64 (rebuilt)');
    expect(seen().filter((r) => r.startsWith('GET') && r.includes('/manifests/'))).toHaveLength(3);

    // Every cache entry replaced by another one's bytes (valid JSON, wrong content): each is
    // dropped on read and fetched again; the install is correct and the cache whole again.
    const metaDir = join(d.stateDir, '.rulesctl', 'meta', 'sha256');
    const names = (await readdir(metaDir)).sort();
    // 2 generations of: rules manifest and config, plugin index, amd64 manifest and config (the plugin config is shared).
    expect(names).toHaveLength(9);
    const bytes = await Promise.all(names.map((n) => readFile(join(metaDir, n))));
    for (const [i, n] of names.entries()) await writeFile(join(metaDir, n), bytes[(i + 1) % names.length]!);
    await rm(rulesFile);
    proxy.reset();
    const repaired = await install(req, { targets, index });
    expect(repaired.installed.map((a) => `${a.name} ${a.version}`)).toEqual(['warm-rules 1.1.0']);
    expect(repaired.unchanged.map((a) => `${a.name} ${a.version}`)).toEqual(['warm-plugin 0.1.2']);
    expect(await readFile(rulesFile, 'utf8')).toBe('- list: warm_v2\n  items: []\n');
    expect(await readFile(pluginFile, 'utf8')).toBe('warm-plugin 0.1.2 for amd64 (rebuilt)');
    const refetched = seen();
    expect(refetched.filter((r) => r.startsWith('GET') && r.includes('/manifests/'))).toHaveLength(3);
    expect(refetched.filter((r) => r.startsWith('GET') && r.includes('/blobs/'))).toHaveLength(3); // 2 configs + the rules layer
    // The five entries this install read are whole again; the older generation's four were not read, so still as corrupted.
    const whole = [];
    for (const n of await readdir(metaDir)) if (digestOf(await readFile(join(metaDir, n))) === `sha256:${n}`) whole.push(`sha256:${n}`);
    expect(whole).toHaveLength(5);
    expect(whole).toEqual(expect.arrayContaining([newRules, newPlugin]));

    // And warm again afterwards (writing a lock file).
    const lockFile = join(tmpDir('warm-lock'), 'rulesctl.lock.json');
    proxy.reset();
    await install({ ...req, lockFile }, { targets, index });
    expect(seen()).toEqual([m('HEAD', rulesRepo, 'manifests/latest'), m('GET', pluginRepo, 'tags/list?n=1000'), m('HEAD', pluginRepo, 'manifests/0.1.2')]);

    // --frozen reads every artifact by its locked digest: nothing to ask the registry at all.
    proxy.reset();
    const frozen = await install({ ...req, lockFile, frozen: true }, { targets, index });
    expect(frozen.unchanged.map((a) => a.digest).sort()).toEqual([newPlugin, newRules].sort());
    expect(seen()).toEqual([]);
  });
});
