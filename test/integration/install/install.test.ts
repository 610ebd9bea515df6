/**
 * artifact install end to end against the real docker-registry (issue 5): short names through a
 * file:// index, dependency chains and alternatives, conflicts with their chain, requirements
 * against the Falco stand-in, --frozen after a tag moved, idempotence.
 */
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMergedIndex } from '../../../src/index/merged.js';
import { install, type InstallRequest } from '../../../src/install/install.js';
import { readLock } from '../../../src/resolve/lock.js';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import { createTargetFactory } from '../../../src/oci/targets.js';
import { startFalcoStandIn } from '../../helpers/falco-stand-in.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { tmpDir } from '../../helpers/tmp.js';
import { PLATFORM, destinations, publish, snapshot, writeIndex, type EntryInput } from './_publish.js';

const reg = getRegistries().open;
const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 10, maxMs: 100 } });
afterAll(() => client.close());
const targets = createTargetFactory({ client });
const repoTarget = (repository: string) => targets({ registry: reg.host, repository });

/** A family of repositories for one test, and an index naming them. */
async function world(names: Array<[string, EntryInput['type']]>) {
  const prefix = uniqueRepo('install');
  const repos = Object.fromEntries(names.map(([n]) => [n, `${prefix}/${n}`]));
  const url = await writeIndex(tmpDir('install-index'), names.map(([name, type]) => ({ name, type, registry: reg.host, repository: repos[name]! })));
  return { repos, index: () => loadMergedIndex([{ name: 'test', url }]), target: (n: string) => repoTarget(repos[n]!) };
}

async function request(refs: string[], extra: Partial<InstallRequest> = {}): Promise<InstallRequest & { root: string }> {
  const d = await destinations();
  return { refs, ...d, allowedTypes: [], platform: PLATFORM, resolveDeps: true, noVerify: false, ...extra };
}

describe('artifact install on docker-registry', () => {
  it('installs by short name with a dependency chain and an alternative, highest compatible versions', async () => {
    const w = await world([['app-rules', 'rulesfile'], ['plug-a', 'plugin'], ['plug-b', 'plugin'], ['plug-c', 'plugin'], ['lib-x', 'asset']]);
    await publish(await w.target('app-rules'), {
      type: 'rulesfile', name: 'app-rules', version: '1.0.0', tags: ['1.0.0', 'latest'],
      dependencies: [{ name: 'plug-a', version: '0.2.0' }, { name: 'plug-b', version: '1.0.0', alternatives: [{ name: 'plug-c', version: '1.1.0' }] }],
    });
    for (const v of ['0.2.0', '0.2.5', '0.3.0']) {
      await publish(await w.target('plug-a'), { type: 'plugin', name: 'plug-a', version: v, dependencies: [{ name: 'lib-x', version: '1.0.0' }] });
    }
    await publish(await w.target('plug-a'), { type: 'plugin', name: 'plug-a', version: '1.0.0' });
    await publish(await w.target('plug-b'), { type: 'plugin', name: 'plug-b', version: '1.0.0' });
    await publish(await w.target('plug-c'), { type: 'plugin', name: 'plug-c', version: '1.2.0' });
    for (const v of ['1.0.0', '1.4.0']) await publish(await w.target('lib-x'), { type: 'asset', name: 'lib-x', version: v, content: `{"v":"${v}"}` });

    const req = await request(['app-rules', 'plug-c:1.2.0'], { lockFile: join(tmpDir('lock'), 'rulesctl.lock.json') });
    const result = await install(req, { targets, index: w.index });
    const got = Object.fromEntries(result.installed.map((a) => [a.name, a.version]));
    expect(got).toEqual({ 'app-rules': '1.0.0', 'plug-a': '0.3.0', 'plug-c': '1.2.0', 'lib-x': '1.4.0' });
    expect(result.unchanged).toEqual([]);
    // Dependencies come before their dependents.
    const order = result.installed.map((a) => a.name);
    expect(order.indexOf('lib-x')).toBeLessThan(order.indexOf('plug-a'));
    expect(order.indexOf('plug-a')).toBeLessThan(order.indexOf('app-rules'));
    expect((await readdir(req.pluginsDir)).sort()).toEqual(['libplug-a.so', 'libplug-c.so']);
    expect(await readdir(req.rulesfilesDir)).toEqual(['app_rules.yaml']);
    expect(await readFile(join(req.assetsDir, 'lib-x.json'), 'utf8')).toBe('{"v":"1.4.0"}');
    expect(result.installed.find((a) => a.name === 'app-rules')!.files).toEqual([join(req.rulesfilesDir, 'app_rules.yaml')]);
    // State shared with follow: one file per resolved ref; the lock names every digest.
    expect(await readdir(join(req.stateDir, '.falcoctl', 'artifact-state'))).toHaveLength(4);
    const lock = await readLock(req.lockFile!);
    expect(lock!.entries.map((e) => [e.name, e.version, e.digest])).toEqual(
      result.installed.map((a) => [a.name, a.version, a.digest]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
    expect(lock!.entries.find((e) => e.name === 'app-rules')!.dependencies.sort()).toEqual(['plug-a', 'plug-c']);
  });

  it('reports a conflict with its chain and writes nothing', async () => {
    const w = await world([['app-rules', 'rulesfile'], ['plug-a', 'plugin']]);
    await publish(await w.target('app-rules'), { type: 'rulesfile', name: 'app-rules', version: '2.0.0', dependencies: [{ name: 'plug-a', version: '0.8.0' }] });
    for (const v of ['0.7.0', '0.8.1']) await publish(await w.target('plug-a'), { type: 'plugin', name: 'plug-a', version: v });
    const req = await request(['app-rules:2.0.0', 'plug-a:0.7.0']);
    const err = await install(req, { targets, index: w.index }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DEPENDENCY_CONFLICT' });
    expect((err as Error).message).toContain('app-rules 2.0.0 needs plug-a >=0.8.0 <1.0.0');
    expect((err as Error).message).toContain('chain: app-rules 2.0.0 (requested as app-rules:2.0.0)');
    expect((err as Error).message).toContain('plug-a 0.7.0 is pinned by the command line (plug-a:0.7.0)');
    for (const d of [req.rulesfilesDir, req.pluginsDir, req.stateDir]) expect(await readdir(d)).toEqual([]);
  });

  it('refuses a requirement above the Falco stand-in\'s /versions before writing anything', async () => {
    const falco = await startFalcoStandIn({ versions: { engine_version_semver: '0.43.0', engine_version: '43' } });
    try {
      const w = await world([['new-rules', 'rulesfile'], ['ok-rules', 'rulesfile']]);
      await publish(await w.target('new-rules'), { type: 'rulesfile', name: 'new-rules', version: '1.0.0', requirements: [{ name: 'engine_version_semver', version: '0.50.0' }] });
      await publish(await w.target('ok-rules'), { type: 'rulesfile', name: 'ok-rules', version: '1.0.0', requirements: [{ name: 'engine_version_semver', version: '0.40.0' }] });
      const req = await request(['ok-rules:1.0.0', 'new-rules:1.0.0'], { falcoVersions: falco.versionsUrl });
      const err = await install(req, { targets, index: w.index }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_REQUIREMENT_UNMET' });
      expect((err as Error).message).toContain('new-rules 1.0.0 requires engine_version_semver 0.50.0, Falco reports 0.43.0');
      expect(falco.requests.some((r) => r.path === '/versions')).toBe(true);
      for (const d of [req.rulesfilesDir, req.pluginsDir, req.stateDir]) expect(await readdir(d)).toEqual([]);
      // The same Falco accepts the other one; an explicit engine version works without Falco.
      const ok = await install({ ...req, refs: ['ok-rules:1.0.0'] }, { targets, index: w.index });
      expect(ok.installed.map((a) => a.name)).toEqual(['ok-rules']);
      const refused = await install({ ...req, refs: ['new-rules:1.0.0'], falcoVersions: undefined, engineVersion: '0.49.0' }, { targets, index: w.index }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'ERR_REQUIREMENT_UNMET' });
    } finally {
      await falco.close();
    }
  });

  it('--frozen after the tag moved installs the locked digest', async () => {
    const w = await world([['moving-rules', 'rulesfile']]);
    const t = await w.target('moving-rules');
    const old = await publish(t, { type: 'rulesfile', name: 'moving-rules', version: '1.0.0', tags: ['1.0.0', 'latest'], content: '- list: old\n  items: []\n' });
    const lockFile = join(tmpDir('lock'), 'rulesctl.lock.json');
    const req = await request(['moving-rules'], { lockFile });
    await install(req, { targets, index: w.index });
    const moved = await publish(t, { type: 'rulesfile', name: 'moving-rules', version: '1.1.0', tags: ['1.1.0', 'latest'], content: '- list: new\n  items: []\n' });
    expect(moved).not.toBe(old);
    const fresh = await request(['moving-rules'], { lockFile, frozen: true });
    const frozen = await install(fresh, { targets, index: w.index });
    expect(frozen.installed.map((a) => [a.version, a.digest])).toEqual([['1.0.0', old]]);
    expect(await readFile(join(fresh.rulesfilesDir, 'moving_rules.yaml'), 'utf8')).toContain('old');
    // Without --frozen the moved tag wins; a ref the lock does not cover fails under --frozen.
    const unfrozen = await install(await request(['moving-rules']), { targets, index: w.index });
    expect(unfrozen.installed[0]!.digest).toBe(moved);
    const err = await install(await request(['moving-rules:1.1.0'], { lockFile, frozen: true }), { targets, index: w.index }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_LOCK_MISMATCH' });
  });

  it('a second run with nothing new changes no file and says so', async () => {
    const w = await world([['idem-rules', 'rulesfile'], ['idem-plugin', 'plugin']]);
    await publish(await w.target('idem-rules'), { type: 'rulesfile', name: 'idem-rules', version: '1.0.0', dependencies: [{ name: 'idem-plugin', version: '0.1.0' }] });
    await publish(await w.target('idem-plugin'), { type: 'plugin', name: 'idem-plugin', version: '0.1.0' });
    const req = await request(['idem-rules:1.0.0'], { lockFile: join(tmpDir('lock'), 'rulesctl.lock.json') });
    const first = await install(req, { targets, index: w.index });
    expect(first.installed).toHaveLength(2);
    const before = { dest: snapshot(req.root), lock: (await stat(req.lockFile!)).mtimeMs };
    await new Promise((r) => setTimeout(r, 20));
    const second = await install(req, { targets, index: w.index });
    expect(second.installed).toEqual([]);
    expect(second.unchanged.map((a) => a.name)).toEqual(['idem-plugin', 'idem-rules']);
    expect(second.unchanged.every((a) => a.changedFiles.length === 0)).toBe(true);
    expect(snapshot(req.root)).toEqual(before.dest);
    expect((await stat(req.lockFile!)).mtimeMs).toBe(before.lock);
    // A file edited by hand is put back, by rename (new inode); the untouched one stays as it is.
    const rules = join(req.rulesfilesDir, 'idem_rules.yaml');
    const original = await readFile(rules, 'utf8');
    await writeFile(rules, 'edited\n');
    const third = await install(req, { targets, index: w.index });
    expect(third.installed.map((a) => [a.name, a.changedFiles])).toEqual([['idem-rules', [rules]]]);
    expect(await readFile(rules, 'utf8')).toBe(original);
    const after = snapshot(req.root);
    expect(after[join(req.pluginsDir, 'libidem-plugin.so')]).toBe(before.dest[join(req.pluginsDir, 'libidem-plugin.so')]);
    expect(after[rules]).not.toBe(before.dest[rules]);
  });

  it('resolves a semver range tag against the registry tag list', async () => {
    const w = await world([['ranged-rules', 'rulesfile']]);
    for (const v of ['3.0.0', '3.1.0', '3.1.4', '3.2.0', '4.0.0']) await publish(await w.target('ranged-rules'), { type: 'rulesfile', name: 'ranged-rules', version: v });
    const r = await install(await request(['ranged-rules:~3.1']), { targets, index: w.index });
    expect(r.installed.map((a) => [a.ref.split(':').pop(), a.version])).toEqual([['3.1.4', '3.1.4']]);
  });

  it('refuses a type that is not allowed before writing anything', async () => {
    const w = await world([['typed-rules', 'rulesfile'], ['typed-plugin', 'plugin']]);
    await publish(await w.target('typed-rules'), { type: 'rulesfile', name: 'typed-rules', version: '1.0.0', dependencies: [{ name: 'typed-plugin', version: '0.1.0' }] });
    await publish(await w.target('typed-plugin'), { type: 'plugin', name: 'typed-plugin', version: '0.1.0' });
    const req = await request(['typed-rules:1.0.0'], { allowedTypes: ['rulesfile'] });
    await expect(install(req, { targets, index: w.index })).rejects.toMatchObject({ code: 'ERR_TYPE_NOT_ALLOWED' });
    for (const d of [req.rulesfilesDir, req.pluginsDir, req.stateDir]) expect(await readdir(d)).toEqual([]);
  });
});
