import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/oci/memory/store.js';
import { descriptorFor, type ImageIndex, type ImageManifest } from '../../../src/oci/descriptor.js';
import { signArtifact } from '../../../src/signature/sign.js';
import { verifyArtifact } from '../../../src/signature/verify.js';
import { parseCosignPolicy, type SignaturePolicy } from '../../../src/signature/policy.js';
import { parseSimpleSigningPayload } from '../../../src/signature/legacy.js';
import { editManifest, newKeys, pushArtifact } from './_helpers.js';

const REPO = 'registry.local/falco/rules';

function keyPolicy(pem: string, ignoreTlog = true): SignaturePolicy {
  return parseCosignPolicy({ key: pem, 'ignore-tlog': ignoreTlog })!;
}

async function signedStore(formats: ('legacy' | 'bundle')[] = ['legacy', 'bundle']) {
  const store = new MemoryStore({ name: REPO });
  const root = await pushArtifact(store);
  const keys = newKeys();
  const result = await signArtifact({ target: store, repository: REPO, digest: root.digest, key: keys.privateKey, formats, now: () => new Date('2026-01-02T03:04:05.678Z') });
  return { store, root, keys, result };
}

describe('key-based sign → verify round trip on the memory store', () => {
  it('writes the legacy .sig manifest cosign reads', async () => {
    const { store, root, result } = await signedStore(['legacy']);
    const hex = root.digest.slice('sha256:'.length);
    expect(result.legacy?.tag).toBe(`sha256-${hex}.sig`);
    const { bytes } = await store.fetchManifest(`sha256-${hex}.sig`);
    const m = JSON.parse(bytes.toString()) as ImageManifest;
    expect(m.layers).toHaveLength(1);
    expect(m.layers[0]!.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    expect(m.layers[0]!.annotations?.['dev.cosignproject.cosign/signature']).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const payload = store.blobs.get(m.layers[0]!.digest)!;
    expect(payload.toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"${REPO}"},"image":{"docker-manifest-digest":"${root.digest}"},"type":"cosign container image signature"},"optional":null}`,
    );
    expect(parseSimpleSigningPayload(payload)?.digest).toBe(root.digest);
  });

  it('writes a v0.3 bundle referrer and the sha256-<hex> fallback index', async () => {
    const { store, root, result } = await signedStore(['bundle']);
    const hex = root.digest.slice('sha256:'.length);
    expect(result.bundle?.fallbackTag).toBe(`sha256-${hex}`);
    const index = JSON.parse((await store.fetchManifest(`sha256-${hex}`)).bytes.toString()) as ImageIndex;
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]).toMatchObject({ digest: result.bundle!.manifest.digest, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' });
    const m = JSON.parse((await store.fetchManifest(result.bundle!.manifest)).bytes.toString()) as ImageManifest;
    expect(m.subject).toEqual({ mediaType: root.mediaType, digest: root.digest, size: root.size });
    expect(m.config.mediaType).toBe('application/vnd.oci.empty.v1+json');
    expect(m.annotations?.['org.opencontainers.image.created']).toBe('2026-01-02T03:04:05Z');
    const bundle = JSON.parse(store.blobs.get(m.layers[0]!.digest)!.toString());
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
    expect(statement.subject[0].digest).toEqual({ sha256: hex });
    expect(statement.predicateType).toBe('https://sigstore.dev/cosign/sign/v1');
  });

  it('verifies the bundle first when both formats exist', async () => {
    const { store, root, keys } = await signedStore();
    const v = await verifyArtifact({ target: store, repository: REPO, digest: root.digest, policy: keyPolicy(keys.publicPem) });
    expect(v.format).toBe('bundle');
    expect(v.predicateType).toBe('https://sigstore.dev/cosign/sign/v1');
    expect(v.keyHint).toMatch(/=$/);
  });

  it('verifies the legacy .sig alone', async () => {
    const { store, root, keys } = await signedStore(['legacy']);
    const v = await verifyArtifact({ target: store, repository: REPO, digest: root.digest, policy: keyPolicy(keys.publicPem) });
    expect(v.format).toBe('legacy');
    expect(v.tlogEntries).toBe(0);
  });

  it('uses the registry referrers function when given', async () => {
    const { store, root, keys, result } = await signedStore(['bundle']);
    const calls: string[] = [];
    const referrers = async (digest: string) => {
      calls.push(digest);
      return [{ ...result.bundle!.manifest, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }];
    };
    await store.tags.delete(result.bundle!.fallbackTag!);
    const v = await verifyArtifact({ target: store, repository: REPO, digest: root.digest, policy: keyPolicy(keys.publicPem), referrers });
    expect(v.format).toBe('bundle');
    expect(calls).toEqual([root.digest]);
  });

  it('appends a second signer to both the .sig manifest and the fallback index', async () => {
    const { store, root } = await signedStore();
    const other = newKeys();
    await signArtifact({ target: store, repository: REPO, digest: root.digest, key: other.privateKey });
    const hex = root.digest.slice(7);
    const sig = JSON.parse((await store.fetchManifest(`sha256-${hex}.sig`)).bytes.toString()) as ImageManifest;
    const index = JSON.parse((await store.fetchManifest(`sha256-${hex}`)).bytes.toString()) as ImageIndex;
    expect(sig.layers).toHaveLength(2);
    expect(index.manifests).toHaveLength(2);
    const v = await verifyArtifact({ target: store, repository: REPO, digest: root.digest, policy: keyPolicy(other.publicPem) });
    expect(v.format).toBe('bundle');
    expect(v.manifest.digest).toBe(index.manifests[1]!.digest);
  });

  it('finds the second signer in the legacy .sig manifest', async () => {
    const { store, root } = await signedStore(['legacy']);
    const other = newKeys();
    await signArtifact({ target: store, repository: REPO, digest: root.digest, key: other.privateKey, formats: ['legacy'] });
    const v = await verifyArtifact({ target: store, repository: REPO, digest: root.digest, policy: keyPolicy(other.publicPem) });
    expect(v.format).toBe('legacy');
  });
});

describe('refusals', () => {
  it('refuses an unsigned artifact, naming it and the policy', async () => {
    const store = new MemoryStore({ name: REPO });
    const root = await pushArtifact(store);
    const { publicPem } = newKeys();
    const err = await verifyArtifact({ target: store, repository: REPO, digest: root.digest, policy: keyPolicy(publicPem) }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE', details: { reason: 'unsigned' } });
    expect(err.message).toContain(`${REPO}@${root.digest}`);
    expect(err.message).toContain('no signature found');
    expect(err.message).toContain('policy: key inline PEM public key, ignore-tlog');
  });

  it('refuses a signature made with another key', async () => {
    const { store, root } = await signedStore();
    const err = await verifyArtifact({ target: store, repository: REPO, digest: root.digest, policy: keyPolicy(newKeys().publicPem) }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE', details: { reason: 'rejected' } });
    expect(err.message).toMatch(/bad signature/);
    expect(err.details.reasons).toHaveLength(2);
  });

  it('refuses a tampered legacy signature', async () => {
    const { store, root, keys } = await signedStore(['legacy']);
    await editManifest(store, `sha256-${root.digest.slice(7)}.sig`, (m) => {
      const sig = Buffer.from(m.layers[0]!.annotations!['dev.cosignproject.cosign/signature']!, 'base64');
      sig[sig.length - 1]! ^= 0x01;
      m.layers[0]!.annotations!['dev.cosignproject.cosign/signature'] = sig.toString('base64');
    });
    const err = await verifyArtifact({ target: store, repository: REPO, digest: root.digest, policy: keyPolicy(keys.publicPem) }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE' });
    expect(err.message).toMatch(/\.sig layer sha256:[0-9a-f]+: bad signature/);
  });

  it('refuses a tampered bundle', async () => {
    const { store, root, keys, result } = await signedStore(['bundle']);
    const m = JSON.parse((await store.fetchManifest(result.bundle!.manifest)).bytes.toString()) as ImageManifest;
    const bundle = JSON.parse(store.blobs.get(m.layers[0]!.digest)!.toString());
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
    sig[sig.length - 1]! ^= 0x01;
    bundle.dsseEnvelope.signatures[0].sig = sig.toString('base64');
    const bytes = Buffer.from(JSON.stringify(bundle));
    const layer = descriptorFor(m.layers[0]!.mediaType, bytes);
    await store.push(layer, bytes);
    m.layers[0] = layer;
    const mb = Buffer.from(JSON.stringify(m));
    const md = descriptorFor(m.mediaType!, mb);
    await store.pushManifest(md, mb);
    await store.pushManifest(...(await fallbackWith(store, root.digest, md)));
    const err = await verifyArtifact({ target: store, repository: REPO, digest: root.digest, policy: keyPolicy(keys.publicPem) }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE' });
    expect(err.message).toMatch(/bundle sha256:[0-9a-f]+: bad signature/);
  });

  it('refuses a signature for another digest copied onto this artifact', async () => {
    const store = new MemoryStore({ name: REPO });
    const signed = await pushArtifact(store, 'signed');
    const victim = await pushArtifact(store, 'victim');
    const keys = newKeys();
    await signArtifact({ target: store, repository: REPO, digest: signed.digest, key: keys.privateKey });
    // Point the victim's signature tags at the signed artifact's signatures.
    const s = signed.digest.slice(7);
    const v = victim.digest.slice(7);
    await store.tag(await store.resolve(`sha256-${s}.sig`), `sha256-${v}.sig`);
    await store.tag(await store.resolve(`sha256-${s}`), `sha256-${v}`);
    const err = await verifyArtifact({ target: store, repository: REPO, digest: victim.digest, policy: keyPolicy(keys.publicPem) }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE', details: { reason: 'digest-mismatch' } });
    expect(err.message).toContain(`the signature is for ${signed.digest}, not ${victim.digest}`);
    expect(err.message).toMatch(/has subject sha256:[0-9a-f]+, not/);
  });

  it('refuses a key-signed artifact under a keyless policy', async () => {
    const { store, root } = await signedStore();
    const policy = parseCosignPolicy({ 'certificate-identity': 'a@b.c', 'certificate-oidc-issuer': 'https://x' })!;
    const trustedRoot = { file: new URL('../../../fixtures/sigstore/trusted_root.json', import.meta.url).pathname };
    const err = await verifyArtifact({ target: store, repository: REPO, digest: root.digest, policy, trustedRoot }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE' });
    expect(err.message).toContain('signed with a key, but the policy expects a keyless certificate');
  });

  it('needs a trusted root for Rekor checks of a key policy without ignore-tlog', async () => {
    const { store, root, keys } = await signedStore();
    const err = await verifyArtifact({ target: store, repository: REPO, digest: root.digest, policy: keyPolicy(keys.publicPem, false) }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE', details: { reason: 'no-trusted-root' } });
  });

  it('refuses a key-signed artifact without a Rekor entry when the policy requires one', async () => {
    const { store, root, keys } = await signedStore();
    const trustedRoot = { file: new URL('../../../fixtures/sigstore/trusted_root.json', import.meta.url).pathname };
    const err = await verifyArtifact({ target: store, repository: REPO, digest: root.digest, policy: keyPolicy(keys.publicPem, false), trustedRoot }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE' });
    expect(err.message).toMatch(/expected 1 tlog timestamps, got 0/);
  });
});

async function fallbackWith(store: MemoryStore, digest: string, entry: { digest: string; size: number; mediaType: string }) {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...entry, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }],
  };
  const bytes = Buffer.from(JSON.stringify(index));
  return [descriptorFor(index.mediaType!, bytes), bytes, `sha256-${digest.slice(7)}`] as const;
}
