/**
 * install() on in-memory repositories: index loading only for names, requirement and type gates
 * before any write, signature policy by config name, lock handling, result text.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { buildArtifact } from '../../../src/artifact/build.js';
import { pushArtifact } from '../../../src/artifact/push.js';
import { formatInstallResult } from '../../../src/cli/commands/artifact/install.js';
import type { IndexEntry } from '../../../src/index/index-file.js';
import { mergeIndexes } from '../../../src/index/merged.js';
import { install, type InstallDeps, type InstallRequest } from '../../../src/install/install.js';
import { engineVersions } from '../../../src/install/requirements-gate.js';
import { createMemoryRegistry } from '../../../src/oci/memory/store.js';
import type { TargetFactory } from '../../../src/oci/targets.js';
import { tmpDir } from '../../helpers/tmp.js';

const HOST = 'memory.local';
const PLATFORM = { os: 'linux', architecture: 'amd64' };

async function world() {
  const registry = createMemoryRegistry(HOST);
  const targets: TargetFactory = async (ref) => registry.repository(ref.repository);
  const publish = async (repository: string, input: { type: 'rulesfile' | 'plugin'; name: string; version: string; requirements?: { name: string; version: string }[]; dependencies?: { name: string; version: string }[] }) => {
    const dir = tmpDir('unit-install-src');
    const file = join(dir, input.type === 'plugin' ? `lib${input.name}.so` : `${input.name}.yaml`);
    await writeFile(file, `# ${input.name} ${input.version}\n`);
    const built = await buildArtifact({ ...input, created: '2025-01-01T00:00:00Z', workDir: join(dir, 'w'), files: [{ path: file, ...(input.type === 'plugin' ? { platform: 'linux/amd64' } : {}) }] });
    return (await pushArtifact(registry.repository(repository), built, { tags: [input.version, 'latest'] })).rootDigest;
  };
  return { targets, publish };
}

const entry = (name: string, type: string, repository: string, signature?: IndexEntry['signature']): IndexEntry => ({
  name, type, registry: HOST, repository, description: '', home: '', keywords: [], license: '', maintainers: [], sources: [],
  ...(signature ? { signature } : {}),
});

async function request(refs: string[], extra: Partial<InstallRequest> = {}): Promise<InstallRequest> {
  const root = tmpDir('unit-install-dest');
  const dirs = { rulesfilesDir: join(root, 'r'), pluginsDir: join(root, 'p'), assetsDir: join(root, 'a'), stateDir: join(root, 's') };
  for (const d of Object.values(dirs)) await mkdir(d);
  return { refs, ...dirs, allowedTypes: [], platform: PLATFORM, resolveDeps: true, noVerify: false, ...extra };
}

const empty = async (req: InstallRequest) => {
  for (const d of [req.rulesfilesDir, req.pluginsDir, req.assetsDir, req.stateDir]) expect(await readdir(d)).toEqual([]);
};

describe('install (in memory)', () => {
  it('never loads the index for full references, and loads it once for names', async () => {
    const w = await world();
    await w.publish('rules/a', { type: 'rulesfile', name: 'a-rules', version: '1.0.0' });
    const index = vi.fn(async () => mergeIndexes([{ name: 'test', entries: [entry('a-rules', 'rulesfile', 'rules/a')] }]));
    const full = await install(await request([`${HOST}/rules/a:1.0.0`]), { targets: w.targets, index, localIndex: mergeIndexes([]) });
    expect(full.installed.map((a) => a.name)).toEqual(['a-rules']);
    expect(index).not.toHaveBeenCalled();
    await install(await request(['a-rules', 'a-rules:1.0.0']), { targets: w.targets, index });
    expect(index).toHaveBeenCalledTimes(1);
  });

  it('refuses unmet engine requirements before writing; an engine version alone leaves other keys unchecked', async () => {
    const w = await world();
    await w.publish('rules/b', { type: 'rulesfile', name: 'b-rules', version: '1.0.0', requirements: [{ name: 'engine_version_semver', version: '0.50.0' }] });
    await w.publish('plugins/c', { type: 'plugin', name: 'c', version: '0.1.0', requirements: [{ name: 'plugin_api_version', version: '9.0.0' }] });
    const deps: InstallDeps = { targets: w.targets, index: mergeIndexes([]) };
    const req = await request([`${HOST}/rules/b:1.0.0`], { engineVersion: '49' });
    await expect(install(req, deps)).rejects.toMatchObject({ code: 'ERR_REQUIREMENT_UNMET', message: expect.stringContaining('b-rules 1.0.0 requires engine_version_semver 0.50.0') });
    await empty(req);
    expect((await install(await request([`${HOST}/plugins/c:0.1.0`], { engineVersion: '0.50.0' }), deps)).installed).toHaveLength(1);
    const withFalco = await request([`${HOST}/plugins/c:0.1.0`], { falcoVersions: { plugin_api_version: '3.10.0', engine_version_semver: '0.50.0' } });
    await expect(install(withFalco, deps)).rejects.toMatchObject({ code: 'ERR_REQUIREMENT_UNMET' });
    await empty(withFalco);
  });

  it('reads /versions through the injected fetcher', async () => {
    const w = await world();
    await w.publish('rules/d', { type: 'rulesfile', name: 'd-rules', version: '1.0.0', requirements: [{ name: 'engine_version', version: '40' }] });
    const fetchVersions = vi.fn(async () => '{"engine_version":"39","engine_version_semver":"0.39.0"}');
    const req = await request([`${HOST}/rules/d:1.0.0`], { falcoVersions: 'http://falco.invalid/versions' });
    await expect(install(req, { targets: w.targets, fetchVersions })).rejects.toMatchObject({ code: 'ERR_REQUIREMENT_UNMET' });
    expect(fetchVersions).toHaveBeenCalledWith('http://falco.invalid/versions', expect.anything());
  });

  it('verifies with the policy of the index entry named by the config name; a refusal writes nothing', async () => {
    const w = await world();
    const digest = await w.publish('elsewhere/e', { type: 'rulesfile', name: 'e-rules', version: '1.0.0' });
    const signature = { cosign: { 'certificate-oidc-issuer': '', 'certificate-oidc-issuer-regexp': '', 'certificate-identity': '', 'certificate-identity-regexp': '', 'certificate-github-workflow': '', key: 'KEY', 'ignore-tlog': true } };
    const index = mergeIndexes([{ name: 'test', entries: [entry('e-rules', 'rulesfile', 'rules/e', signature)] }]);
    const verify = vi.fn(async () => { throw Object.assign(new Error('no signature satisfies the policy'), { code: 'ERR_SIGNATURE' }); });
    const req = await request([`${HOST}/elsewhere/e:1.0.0`]);
    await expect(install(req, { targets: w.targets, localIndex: index, verify })).rejects.toMatchObject({ code: 'ERR_SIGNATURE' });
    expect(verify).toHaveBeenCalledWith(expect.objectContaining({ repository: `${HOST}/elsewhere/e`, digest, signature, noVerify: false }));
    await empty(req);
  });

  it('refuses a type not allowed and a missing destination before writing', async () => {
    const w = await world();
    await w.publish('plugins/f', { type: 'plugin', name: 'f', version: '0.1.0' });
    const deps = { targets: w.targets, index: mergeIndexes([]) };
    const req = await request([`${HOST}/plugins/f:0.1.0`], { allowedTypes: ['rulesfile'] });
    await expect(install(req, deps)).rejects.toMatchObject({ code: 'ERR_TYPE_NOT_ALLOWED', message: 'cannot download artifact of type "plugin": type not permitted' });
    await empty(req);
    const missing = await request([`${HOST}/plugins/f:0.1.0`], { pluginsDir: '/nonexistent/rulesctl/plugins' });
    await expect(install(missing, deps)).rejects.toMatchObject({ code: 'ERR_IO', message: expect.stringContaining('cannot use directory "/nonexistent/rulesctl/plugins"') });
  });

  it('--frozen needs an existing lock; no refs is an error', async () => {
    const w = await world();
    await expect(install(await request(['x'], { frozen: true, lockFile: join(tmpDir('lock'), 'none.json') }), { targets: w.targets })).rejects.toMatchObject({ code: 'ERR_LOCK_MISMATCH' });
    await expect(install(await request([]), { targets: w.targets })).rejects.toMatchObject({ code: 'ERR_USAGE' });
  });

  it('engineVersions maps both forms', () => {
    expect(engineVersions('57')).toEqual({ engine_version: '57', engine_version_semver: '0.57.0' });
    expect(engineVersions('0.43.1')).toEqual({ engine_version: '43', engine_version_semver: '0.43.1' });
    expect(() => engineVersions('v1')).toThrow(/invalid engine version/);
  });

  it('formats the result for humans', () => {
    const a = { name: 'r', ref: 'h/r:1', digest: 'sha256:ab', type: 'rulesfile' as const, version: '1.0.0', files: ['/x/r.yaml'], changedFiles: ['/x/r.yaml'], signature: 'no-policy' as const };
    expect(formatInstallResult({ installed: [a], unchanged: [], warnings: [] })).toBe('Installed r 1.0.0 (rulesfile) from h/r:1@sha256:ab\n    /x/r.yaml');
    expect(formatInstallResult({ installed: [], unchanged: [{ ...a, changedFiles: [] }], warnings: [], lockFile: '/l.json' }))
      .toBe('Unchanged r 1.0.0 (rulesfile) from h/r:1@sha256:ab\n    /x/r.yaml\nNothing changed: the artifact is already installed.\nLock file: /l.json');
  });
});
