/**
 * Signature verification through install (issue 9, spec §14): the policy comes from the index entry
 * named by the artifact's config name, also for a full reference; a key policy verifies a signed
 * artifact; another key's signature, and content swapped under the tag after signing, are refused
 * with nothing written; --no-verify skips.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMergedIndex } from '../../../src/index/merged.js';
import { install, type InstallRequest } from '../../../src/install/install.js';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import { createTargetFactory } from '../../../src/oci/targets.js';
import { signArtifact } from '../../../src/signature/sign.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { tmpDir } from '../../helpers/tmp.js';
import { PLATFORM, destinations, publish, writeIndex } from './_publish.js';

const reg = getRegistries().open;
const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 10, maxMs: 100 } });
afterAll(() => client.close());
const targets = createTargetFactory({ client });

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const policyYaml = (pem: string) => [
  '  signature:', '    cosign:', '        key: |',
  ...pem.trim().split('\n').map((l) => `            ${l}`),
  '        ignore-tlog: true',
].join('\n');

async function setup() {
  const repository = uniqueRepo('install-signed');
  const keys = keyPair();
  const url = await writeIndex(tmpDir('install-signed-index'), [{ name: 'signed-rules', type: 'rulesfile', registry: reg.host, repository, signature: policyYaml(keys.pem) }]);
  const target = await targets({ registry: reg.host, repository });
  const digest = await publish(target, { type: 'rulesfile', name: 'signed-rules', version: '1.0.0' });
  return { repository, keys, target, digest, index: () => loadMergedIndex([{ name: 'signed', url }]) };
}

async function request(refs: string[], extra: Partial<InstallRequest> = {}): Promise<InstallRequest> {
  return { refs, ...(await destinations()), allowedTypes: [], platform: PLATFORM, resolveDeps: true, noVerify: false, ...extra };
}

const nothingWritten = async (req: InstallRequest) => {
  for (const d of [req.rulesfilesDir, req.pluginsDir, req.assetsDir]) expect(await readdir(d)).toEqual([]);
  expect(await readdir(req.stateDir)).toEqual([]);
};

describe('install verifies signatures before writing', () => {
  it('verifies a key-signed artifact by short name and by full reference', async () => {
    const s = await setup();
    await signArtifact({ target: s.target, repository: `${reg.host}/${s.repository}`, digest: s.digest, key: s.keys.privateKey });
    const byName = await install(await request(['signed-rules:1.0.0']), { targets, index: s.index });
    expect(byName.installed.map((a) => [a.name, a.signature, a.digest])).toEqual([['signed-rules', 'verified', s.digest]]);
    // A full ref never loads the index for resolution; the policy comes from the local index.
    const full = await install(await request([`${reg.host}/${s.repository}:1.0.0`]), {
      targets, index: () => Promise.reject(new Error('the index must not be loaded for a full reference')), localIndex: s.index,
    });
    expect(full.installed[0]!.signature).toBe('verified');
  });

  it('refuses a signature made with another key, naming the artifact, and writes nothing', async () => {
    const s = await setup();
    await signArtifact({ target: s.target, repository: `${reg.host}/${s.repository}`, digest: s.digest, key: keyPair().privateKey });
    const req = await request(['signed-rules:1.0.0']);
    const err = await install(req, { targets, index: s.index }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE' });
    expect((err as Error).message).toContain(`${reg.host}/${s.repository}@${s.digest}`);
    await nothingWritten(req);
    // --no-verify installs it anyway, and says so in the result.
    const skipped = await install(await request(['signed-rules:1.0.0'], { noVerify: true }), { targets, index: s.index });
    expect(skipped.installed[0]!.signature).toBe('no-verify');
  });

  it('refuses content swapped under the tag after signing, and writes nothing', async () => {
    const s = await setup();
    await signArtifact({ target: s.target, repository: `${reg.host}/${s.repository}`, digest: s.digest, key: s.keys.privateKey });
    const swapped = await publish(s.target, { type: 'rulesfile', name: 'signed-rules', version: '1.0.0', content: '- list: evil\n  items: [x]\n' });
    expect(swapped).not.toBe(s.digest);
    const req = await request(['signed-rules:1.0.0']);
    const err = await install(req, { targets, index: s.index }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE' });
    expect((err as Error).message).toContain(swapped);
    await nothingWritten(req);
  });
});
