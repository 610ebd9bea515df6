/**
 * Key-based cosign signing and verification against the open docker-registry 2.8 (no referrers
 * API: the bundle is found through the `sha256-<hex>` fallback index, the v2 signature through the
 * `.sig` tag).
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Descriptor, ImageIndex } from '../../../src/oci/descriptor.js';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import type { RegistryRepository } from '../../../src/oci/registry/repository.js';
import { parseCosignPolicy } from '../../../src/signature/policy.js';
import { signArtifact, type SignatureFormat } from '../../../src/signature/sign.js';
import { verifyArtifact } from '../../../src/signature/verify.js';
import { pushMinimalArtifact } from '../../helpers/minimal-artifact.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';

const reg = getRegistries().open;
const client = createRegistryClient({ plainHttp: reg.plainHttp, retry: { baseMs: 10, maxMs: 100 } });
afterAll(() => client.close());

function newKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, policy: parseCosignPolicy({ key: publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'ignore-tlog': true })! };
}

const pushArtifact = (repo: RegistryRepository): Promise<Descriptor> => pushMinimalArtifact(repo, { content: `rules ${Math.random()}`, tag: '1.0.0' });

async function signed(formats: SignatureFormat[]) {
  const name = uniqueRepo('signature');
  const repo = client.repository({ registry: reg.host, repository: name });
  const root = await pushArtifact(repo);
  const keys = newKeys();
  const result = await signArtifact({ target: repo, repository: `${reg.host}/${name}`, digest: root.digest, key: keys.privateKey, formats });
  return { repo, name, root, keys, result };
}

describe('cosign key-based signatures on docker-registry 2.8', () => {
  it('verifies the v3 bundle through the sha256-<hex> fallback index', async () => {
    const { repo, name, root, keys, result } = await signed(['bundle']);
    const index = JSON.parse((await repo.fetchManifest(`sha256-${root.digest.slice(7)}`)).bytes.toString()) as ImageIndex;
    expect(index.manifests.map((d) => d.digest)).toEqual([result.bundle!.manifest.digest]);
    // Without the referrers function: discovery reads the fallback tag itself.
    const direct = await verifyArtifact({ target: repo, repository: `${reg.host}/${name}`, digest: root.digest, policy: keys.policy });
    expect(direct).toMatchObject({ format: 'bundle', manifest: { digest: result.bundle!.manifest.digest } });
    // Through the client's referrers(): the API answers 404, the client falls back to the tag.
    const viaClient = await verifyArtifact({
      target: repo, repository: `${reg.host}/${name}`, digest: root.digest, policy: keys.policy,
      referrers: (d, t, o) => repo.referrers(d, t, o),
    });
    expect(viaClient.format).toBe('bundle');
  });

  it('verifies the legacy sha256-<hex>.sig tag', async () => {
    const { repo, name, root, keys, result } = await signed(['legacy']);
    expect((await repo.resolve(result.legacy!.tag)).digest).toBe(result.legacy!.manifest.digest);
    const v = await verifyArtifact({ target: repo, repository: `${reg.host}/${name}`, digest: root.digest, policy: keys.policy, referrers: (d, t, o) => repo.referrers(d, t, o) });
    expect(v).toMatchObject({ format: 'legacy', manifest: { digest: result.legacy!.manifest.digest } });
  });

  it('refuses both formats for another key, naming the artifact', async () => {
    const { repo, name, root } = await signed(['legacy', 'bundle']);
    const other = newKeys();
    const err = await verifyArtifact({ target: repo, repository: `${reg.host}/${name}`, digest: root.digest, policy: other.policy }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE' });
    expect(err.message).toContain(`${reg.host}/${name}@${root.digest}`);
    expect(err.details.reasons).toHaveLength(2);
  });

  it('reports an unsigned artifact as unsigned', async () => {
    const name = uniqueRepo('signature');
    const repo = client.repository({ registry: reg.host, repository: name });
    const root = await pushArtifact(repo);
    const err = await verifyArtifact({ target: repo, repository: `${reg.host}/${name}`, digest: root.digest, policy: newKeys().policy, referrers: (d, t, o) => repo.referrers(d, t, o) }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE', details: { reason: 'unsigned' } });
  });
});
