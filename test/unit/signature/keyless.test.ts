import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bundleFromJSON } from '@sigstore/bundle';
import { Verifier, toSignedEntity } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';
import { descriptorFor, type ImageIndex, type ImageManifest } from '../../../src/oci/descriptor.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import { MemoryStore } from '../../../src/oci/memory/store.js';
import { buildSimpleSigningPayload, legacyToBundle } from '../../../src/signature/legacy.js';
import { parseCosignPolicy } from '../../../src/signature/policy.js';
import { loadTrustMaterial } from '../../../src/signature/trusted-root.js';
import { verifyArtifact } from '../../../src/signature/verify.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../../fixtures/sigstore/${name}`, import.meta.url));
const trustedRoot = { file: new URL('../../../fixtures/sigstore/trusted_root.json', import.meta.url).pathname };
const A_TXT = fixture('a.txt');
const A_DIGEST = `sha256:${createHash('sha256').update(A_TXT).digest('hex')}`;
const BEACON = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const GHA = 'https://token.actions.githubusercontent.com';
const REPO = 'registry.local/conformance';

/** Attaches a recorded bundle to `subject` as cosign v3 does on a registry without referrers API. */
async function attachBundle(store: MemoryStore, subject: { digest: string; size: number; mediaType: string }, bundle: Buffer): Promise<void> {
  const config = Buffer.from('{}');
  const configDesc = descriptorFor(MediaTypes.ociEmpty, config);
  const layer = descriptorFor('application/vnd.dev.sigstore.bundle.v0.3+json', bundle);
  await store.push(configDesc, config);
  await store.push(layer, bundle);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    config: configDesc,
    layers: [layer],
    subject,
  };
  const mb = Buffer.from(JSON.stringify(manifest));
  const md = descriptorFor(MediaTypes.ociManifest, mb);
  await store.pushManifest(md, mb);
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [{ ...md, artifactType: manifest.artifactType! }] };
  const ib = Buffer.from(JSON.stringify(index));
  await store.pushManifest(descriptorFor(MediaTypes.ociIndex, ib), ib, `sha256-${subject.digest.slice(7)}`);
}

async function storeWith(bundleFile: string): Promise<MemoryStore> {
  const store = new MemoryStore({ name: REPO });
  // The "manifest" here is a.txt itself: message signatures cover the subject's bytes.
  const subject = descriptorFor(MediaTypes.ociManifest, A_TXT);
  await store.pushManifest(subject, A_TXT);
  await attachBundle(store, subject, fixture(bundleFile));
  return store;
}

const policy = (identityRegexp: string, issuer = GHA) =>
  parseCosignPolicy({ 'certificate-identity-regexp': identityRegexp, 'certificate-oidc-issuer': issuer })!;

describe('keyless verification of recorded public-good bundles, offline', () => {
  it('passes a DSSE bundle (cosign v3 shape) with the right identity and issuer', async () => {
    const store = await storeWith('conformance-dsse.sigstore.json');
    const v = await verifyArtifact({ target: store, repository: REPO, digest: A_DIGEST, policy: policy('^https://github.com/sigstore-conformance/'), trustedRoot });
    expect(v).toMatchObject({ format: 'bundle', identity: BEACON, issuer: GHA, tlogEntries: 1, predicateType: 'https://slsa.dev/provenance/v1' });
  });

  it('passes a message-signature bundle over the subject bytes', async () => {
    const store = await storeWith('conformance-message.sigstore.json');
    const v = await verifyArtifact({ target: store, repository: REPO, digest: A_DIGEST, policy: parseCosignPolicy({ 'certificate-identity': BEACON, 'certificate-oidc-issuer': GHA })!, trustedRoot });
    expect(v).toMatchObject({ format: 'bundle', identity: BEACON, issuer: GHA, tlogEntries: 1 });
  });

  it('refuses a wrong identity regexp, saying which identity it saw', async () => {
    const store = await storeWith('conformance-dsse.sigstore.json');
    const err = await verifyArtifact({ target: store, repository: REPO, digest: A_DIGEST, policy: policy('https://github.com/falcosecurity/rules/'), trustedRoot }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE', details: { reason: 'rejected' } });
    expect(err.message).toContain(`error while verifying signature for ${REPO}@${A_DIGEST}`);
    expect(err.message).toContain('identity mismatch');
    expect(err.message).toContain(BEACON);
  });

  it('refuses a wrong issuer', async () => {
    const store = await storeWith('conformance-dsse.sigstore.json');
    const err = await verifyArtifact({ target: store, repository: REPO, digest: A_DIGEST, policy: policy('sigstore-conformance', 'https://accounts.google.com'), trustedRoot }).catch((e) => e);
    expect(err.message).toMatch(/certificate issuer "https:\/\/token.actions.githubusercontent.com" is not "https:\/\/accounts.google.com"/);
  });

  it('refuses the bundle when attached to another digest', async () => {
    const store = new MemoryStore({ name: REPO });
    const other = Buffer.from('{"schemaVersion":2}');
    const subject = descriptorFor(MediaTypes.ociManifest, other);
    await store.pushManifest(subject, other);
    await attachBundle(store, subject, fixture('conformance-dsse.sigstore.json'));
    const err = await verifyArtifact({ target: store, repository: REPO, digest: subject.digest, policy: policy('sigstore-conformance'), trustedRoot }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE', details: { reason: 'digest-mismatch' } });
    expect(err.message).toContain(`the signature is for ${A_DIGEST}`);
  });

  it('refuses a keyless policy without a trusted root', async () => {
    const store = await storeWith('conformance-dsse.sigstore.json');
    const err = await verifyArtifact({ target: store, repository: REPO, digest: A_DIGEST, policy: policy('sigstore-conformance') }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE', details: { reason: 'no-trusted-root' } });
  });

  it('refuses a trusted root that does not hold the Fulcio CA', async () => {
    const store = await storeWith('conformance-dsse.sigstore.json');
    const root = JSON.parse(fixture('trusted_root.json').toString());
    root.certificateAuthorities = [];
    const err = await verifyArtifact({ target: store, repository: REPO, digest: A_DIGEST, policy: policy('sigstore-conformance'), trustedRoot: { json: root } }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE' });
    expect(err.message).toMatch(/bad signature/);
  });

  it('passes the OCI attestation cosign attached to an image', async () => {
    const store = new MemoryStore({ name: REPO });
    const subject = { mediaType: MediaTypes.ociManifest, digest: 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4', size: 0 };
    await attachBundle(store, subject, fixture('cosign-oci-attestation.sigstore.json'));
    const p = parseCosignPolicy({ 'certificate-identity': 'cody@soyland.com', 'certificate-oidc-issuer': 'https://github.com/login/oauth' })!;
    const v = await verifyArtifact({ target: store, repository: REPO, digest: subject.digest, policy: p, trustedRoot });
    expect(v).toMatchObject({ identity: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' });
  });
});

describe('legacy (cosign v2) keyless annotations', () => {
  // The recorded hashedrekord bundle carries what a cosign v2 `.sig` layer carries: signature,
  // certificate and the Rekor entry with its signed timestamp. Re-expressed as annotations, the
  // conversion must verify with the real Rekor SET.
  const recorded = JSON.parse(fixture('conformance-message.sigstore.json').toString());
  const entry = recorded.verificationMaterial.tlogEntries[0];
  const cert = new X509Certificate(Buffer.from(recorded.verificationMaterial.certificate.rawBytes, 'base64'));
  const annotations = (overrides: Record<string, string> = {}) => ({
    'dev.cosignproject.cosign/signature': recorded.messageSignature.signature,
    'dev.sigstore.cosign/certificate': cert.toString(),
    'dev.sigstore.cosign/bundle': JSON.stringify({
      SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
      Payload: {
        body: entry.canonicalizedBody,
        integratedTime: Number(entry.integratedTime),
        logIndex: Number(entry.logIndex),
        logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex'),
      },
    }),
    ...overrides,
  });

  async function verifyLegacy(payload: Buffer, ann: Record<string, string>) {
    const trust = await loadTrustMaterial(trustedRoot, undefined);
    const bundle = bundleFromJSON(legacyToBundle(payload, ann));
    return new Verifier(trust).verify(toSignedEntity(bundle, payload));
  }

  it('verifies certificate chain, SCT, Rekor SET and signature', async () => {
    const signer = await verifyLegacy(A_TXT, annotations());
    expect(signer.identity).toEqual({ subjectAlternativeName: BEACON, extensions: { issuer: GHA } });
  });

  it('refuses a payload the Rekor entry does not cover', async () => {
    await expect(verifyLegacy(Buffer.concat([A_TXT, Buffer.from('x')]), annotations())).rejects.toThrow();
  });

  it('refuses a forged signed entry timestamp', async () => {
    const bad = JSON.parse(annotations()['dev.sigstore.cosign/bundle']);
    bad.Payload.integratedTime += 1;
    await expect(verifyLegacy(A_TXT, annotations({ 'dev.sigstore.cosign/bundle': JSON.stringify(bad) }))).rejects.toThrow(/inclusion promise could not be verified/);
  });
});

describe('legacy keyless layers through verifyArtifact', () => {
  const recorded = JSON.parse(fixture('conformance-message.sigstore.json').toString());
  const certPem = new X509Certificate(Buffer.from(recorded.verificationMaterial.certificate.rawBytes, 'base64')).toString();

  /** A `.sig` manifest whose one layer carries a real Fulcio certificate but no Rekor bundle. */
  async function storeWithCertOnlySig(): Promise<{ store: MemoryStore; digest: string }> {
    const store = new MemoryStore({ name: REPO });
    const subject = descriptorFor(MediaTypes.ociManifest, A_TXT);
    await store.pushManifest(subject, A_TXT);
    const payload = buildSimpleSigningPayload(REPO, subject.digest);
    const layer = descriptorFor('application/vnd.dev.cosign.simplesigning.v1+json', payload, {
      annotations: { 'dev.cosignproject.cosign/signature': recorded.messageSignature.signature, 'dev.sigstore.cosign/certificate': certPem },
    });
    await store.push(layer, payload);
    const config = Buffer.from('{}');
    const configDesc = descriptorFor('application/vnd.oci.image.config.v1+json', config);
    await store.push(configDesc, config);
    const mb = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [layer] }));
    await store.pushManifest(descriptorFor(MediaTypes.ociManifest, mb), mb, `sha256-${subject.digest.slice(7)}.sig`);
    return { store, digest: subject.digest };
  }

  it('refuses a certificate signature without a Rekor entry, even with ignore-tlog', async () => {
    const { store, digest } = await storeWithCertOnlySig();
    const p = parseCosignPolicy({ 'certificate-identity': BEACON, 'certificate-oidc-issuer': GHA, 'ignore-tlog': true })!;
    const err = await verifyArtifact({ target: store, repository: REPO, digest, policy: p, trustedRoot }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_SIGNATURE' });
    expect(err.message).toContain('has no transparency-log entry or timestamp');
  });

  it('refuses a certificate signature under a key policy', async () => {
    const { store, digest } = await storeWithCertOnlySig();
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const p = parseCosignPolicy({ key: publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'ignore-tlog': true })!;
    const err = await verifyArtifact({ target: store, repository: REPO, digest, policy: p }).catch((e) => e);
    expect(err.message).toContain('signed with a certificate (keyless), but the policy expects a key');
  });
});
