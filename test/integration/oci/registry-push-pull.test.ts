/**
 * The registry client against the real docker-registry 2.8 processes (open, basic, token, tls):
 * blob and manifest round trips, chunked uploads, token caching, mount, tags, delete, referrers.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { descriptorFor, type Descriptor } from '../../../src/oci/descriptor.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from '../../../src/oci/registry/client.js';
import type { RegistryRepository } from '../../../src/oci/registry/repository.js';
import { referrersTag } from '../../../src/oci/registry/referrers.js';
import { getRegistries, uniqueRepo, type RegistryName, type TestRegistry } from '../../helpers/registries.js';

const regs = getRegistries();
const clients: RegistryClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

function clientFor(reg: TestRegistry, extra: Partial<RegistryClientOptions> = {}, creds?: { username: string; password: string } | null): RegistryClient {
  const user = creds === undefined ? (reg.username ? { username: reg.username, password: reg.password! } : undefined) : creds;
  const client = createRegistryClient({
    plainHttp: reg.plainHttp,
    ...(reg.caFile ? { caFile: reg.caFile } : {}),
    credentials: async (host) => (user && host === reg.host ? { kind: 'basic', ...user } : undefined),
    retry: { baseMs: 10, maxMs: 100 },
    ...extra,
  });
  clients.push(client);
  return client;
}

interface Artifact { config: Buffer; layer: Buffer; manifest: Buffer; configDesc: Descriptor; layerDesc: Descriptor; manifestDesc: Descriptor }

function makeArtifact(layerSize = 3000, extra: Record<string, unknown> = {}): Artifact {
  const config = Buffer.from(JSON.stringify({ name: 'rules', version: '1.0.0' }));
  const layer = randomBytes(layerSize);
  const configDesc = descriptorFor('application/vnd.cncf.falco.rulesfile.config.v1+json', config);
  const layerDesc = { ...descriptorFor('application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz', layer), annotations: { 'org.opencontainers.image.title': 'rules.tar.gz' } };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [layerDesc], ...extra }));
  return { config, layer, manifest, configDesc, layerDesc, manifestDesc: descriptorFor(MediaTypes.ociManifest, manifest) };
}

async function pushArtifact(repo: RegistryRepository, a: Artifact, tag?: string): Promise<void> {
  await repo.push(a.configDesc, a.config);
  await repo.push(a.layerDesc, Readable.from([a.layer.subarray(0, 1000), a.layer.subarray(1000)]));
  await repo.pushManifest(a.manifestDesc, a.manifest, tag);
}

describe.each(['open', 'basic', 'token', 'tls'] as RegistryName[])('%s registry', (name) => {
  const reg = regs[name];

  it('pushes and pulls an artifact by tag and digest', async () => {
    const client = clientFor(reg);
    await client.ping(reg.host);
    const repo = client.repository(`${reg.host}/${uniqueRepo(`rt/${name}`)}`);
    const a = makeArtifact();
    expect(await repo.exists(a.layerDesc)).toBe(false);
    await pushArtifact(repo, a, '1.0.0');
    expect(await repo.exists(a.layerDesc)).toBe(true);

    const resolved = await repo.resolve('1.0.0');
    expect(resolved).toEqual({ mediaType: MediaTypes.ociManifest, digest: a.manifestDesc.digest, size: a.manifest.length });
    const byTag = await repo.fetchManifest('1.0.0');
    expect(byTag.bytes.equals(a.manifest)).toBe(true);
    const byDigest = await repo.fetchManifest(a.manifestDesc);
    expect(byDigest.descriptor.digest).toBe(a.manifestDesc.digest);
    expect((await buffer(await repo.fetch(a.layerDesc))).equals(a.layer)).toBe(true);

    await repo.tag(a.manifestDesc, 'latest');
    expect((await repo.listTags()).sort()).toEqual(['1.0.0', 'latest']);
  });

  it('uploads in chunks', async () => {
    const client = clientFor(reg, { chunkSize: 1024 });
    const repo = client.repository({ registry: reg.host, repository: uniqueRepo(`chunk/${name}`) });
    const a = makeArtifact(5000);
    await pushArtifact(repo, a, 'c');
    expect((await buffer(await repo.fetch(a.layerDesc))).equals(a.layer)).toBe(true);
    const log = await reg.accessLog();
    const patches = log.filter((e) => e.method === 'PATCH' && e.path.includes(repo.location.repository));
    expect(patches.length).toBe(5 + 1); // 5 layer chunks + 1 config chunk
  });
});

describe('token registry', () => {
  const reg = regs.token;

  it('caches tokens per scope set', async () => {
    const client = clientFor(reg);
    const repository = uniqueRepo('tokcache');
    const repo = client.repository({ registry: reg.host, repository });
    const a = makeArtifact();
    await pushArtifact(repo, a, 'v1');
    const afterPush = await reg.tokenIssuer!.requestCount({ repository });
    for (let i = 0; i < 5; i++) await repo.resolve('v1');
    await repo.fetchManifest('v1');
    await buffer(await repo.fetch(a.layerDesc));
    const afterPulls = await reg.tokenIssuer!.requestCount({ repository });
    // push: one pull,push token; the pulls share one pull token.
    expect(afterPush).toBe(1);
    expect(afterPulls - afterPush).toBe(1);
  });

  it('mounts a blob across repositories with one token for both scopes', async () => {
    const client = clientFor(reg);
    const from = uniqueRepo('mount/src');
    const to = uniqueRepo('mount/dst');
    const src = client.repository({ registry: reg.host, repository: from });
    const dst = client.repository({ registry: reg.host, repository: to });
    const a = makeArtifact();
    await pushArtifact(src, a, 'v1');
    expect(await dst.mount(a.layerDesc, from)).toBe(true);
    expect(await dst.exists(a.layerDesc)).toBe(true);
    // Unknown source: the registry opens an upload session (202); mount() cancels it and says false.
    const other = makeArtifact(10);
    expect(await dst.mount(other.layerDesc, from)).toBe(false);
    const res = await dst.mountOrUpload(other.layerDesc, from, () => other.layer);
    expect(res.mounted).toBe(false);
    expect(await dst.exists(other.layerDesc)).toBe(true);
  });

  it('fails clearly when a pull-only user pushes', async () => {
    const client = clientFor(reg, {}, reg.readOnly);
    const repo = client.repository({ registry: reg.host, repository: uniqueRepo('readonly') });
    const a = makeArtifact();
    await expect(repo.push(a.configDesc, a.config)).rejects.toMatchObject({ code: 'ERR_UNAUTHORIZED', details: { status: 401 } });
  });

  it('rejected stored credentials on a pull fall back to anonymous (ghcr.io quirk)', async () => {
    const repository = uniqueRepo('wrongpw');
    const a = makeArtifact();
    await pushArtifact(clientFor(reg).repository({ registry: reg.host, repository }), a, 'v1');
    const client = clientFor(reg, {}, { username: 'alice', password: 'wrong' });
    const repo = client.repository({ registry: reg.host, repository });
    expect((await repo.resolve('v1')).digest).toBe(a.manifestDesc.digest);
    const records = (await reg.tokenIssuer!.requests()).filter((r) => JSON.stringify(r.scopes).includes(repository));
    expect(records.map((r) => [r.user, r.status])).toEqual([['alice', 200], ['alice', 401], [null, 200]]);
    // ping checks the login itself: no anonymous fallback.
    await expect(client.ping(reg.host)).rejects.toMatchObject({ code: 'ERR_UNAUTHORIZED' });
    // A push is not retried anonymously.
    await expect(repo.push(a.configDesc, a.config)).rejects.toMatchObject({ code: 'ERR_UNAUTHORIZED' });
  });
});

describe('basic registry', () => {
  it('answers 401 without credentials with a login hint', async () => {
    const reg = regs.basic;
    const client = clientFor(reg, {}, null);
    const repo = client.repository({ registry: reg.host, repository: uniqueRepo('nocreds') });
    await expect(repo.resolve('x')).rejects.toMatchObject({ code: 'ERR_UNAUTHORIZED', hint: expect.stringContaining('rulesctl registry auth basic') });
  });
});

describe('open registry: tags, delete, referrers, errors', () => {
  const reg = regs.open;

  it('lists many tags (the registry ignores n/last) and deletes', async () => {
    const client = clientFor(reg);
    const repo = client.repository({ registry: reg.host, repository: uniqueRepo('tags') });
    const a = makeArtifact();
    await pushArtifact(repo, a);
    const tags = Array.from({ length: 12 }, (_, i) => `t${i}`);
    for (const t of tags) await repo.tag(a.manifestDesc, t);
    expect((await repo.listTags()).sort()).toEqual([...tags].sort());

    await repo.deleteManifest(a.manifestDesc.digest);
    await expect(repo.resolve('t0')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await repo.deleteBlob(a.layerDesc.digest);
    expect(await repo.exists(a.layerDesc)).toBe(false);
  });

  it('finds referrers through the tag-schema fallback', async () => {
    const client = clientFor(reg);
    const repo = client.repository({ registry: reg.host, repository: uniqueRepo('refs') });
    const a = makeArtifact();
    await pushArtifact(repo, a, '1');
    expect(await repo.referrers(a.manifestDesc.digest)).toEqual([]);

    const empty = Buffer.from('{}');
    const emptyDesc = descriptorFor(MediaTypes.ociEmpty, empty);
    await repo.push(emptyDesc, empty);
    const sig = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaTypes.ociManifest, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      config: emptyDesc, layers: [emptyDesc], subject: a.manifestDesc,
    }));
    const sigDesc = { ...descriptorFor(MediaTypes.ociManifest, sig), artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' };
    await repo.pushManifest(sigDesc, sig);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [sigDesc] }));
    await repo.pushManifest(descriptorFor(MediaTypes.ociIndex, index), index, referrersTag(a.manifestDesc.digest));

    expect(await repo.referrers(a.manifestDesc.digest)).toEqual([sigDesc]);
    expect(await repo.referrers(a.manifestDesc.digest, 'application/vnd.dev.sigstore.bundle.v0.3+json')).toEqual([sigDesc]);
    expect(await repo.referrers(a.manifestDesc.digest, 'application/other')).toEqual([]);
  });

  it('maps unknown manifests and repositories to ERR_NOT_FOUND and checks pushed bytes', async () => {
    const client = clientFor(reg);
    const repo = client.repository({ registry: reg.host, repository: uniqueRepo('errors') });
    await expect(repo.fetchManifest('nope')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', details: { status: 404, method: 'GET' } });
    await expect(repo.listTags()).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', details: { ociErrors: [expect.objectContaining({ code: 'NAME_UNKNOWN' })] } });
    const a = makeArtifact();
    await expect(repo.pushManifest(a.manifestDesc, a.manifest, 'x')).rejects.toMatchObject({ code: 'ERR_REGISTRY', message: expect.stringContaining('MANIFEST_BLOB_UNKNOWN') });
    await expect(repo.push(a.layerDesc, Readable.from([a.layer.subarray(1)]))).rejects.toMatchObject({ code: 'ERR_SIZE_MISMATCH' });
    const wrong = Buffer.from(a.layer);
    wrong[0] = wrong[0]! ^ 0xff;
    await expect(repo.push(a.layerDesc, Readable.from([wrong]))).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    expect(await repo.exists(a.layerDesc)).toBe(false);
  });
});
