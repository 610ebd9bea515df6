/**
 * Cross-check with an independent client: what rulesctl pushes, skopeo reads back byte for byte;
 * what skopeo pushes, rulesctl reads and verifies.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { descriptorFor, type Descriptor } from '../../../src/oci/descriptor.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import { createRegistryClient, type RegistryClient } from '../../../src/oci/registry/client.js';
import { getRegistries, uniqueRepo, type RegistryName, type TestRegistry } from '../../helpers/registries.js';
import { dockerRef, skopeoCopy, skopeoInspectRaw, skopeoListTags } from '../../helpers/skopeo.js';
import { tmpDir } from '../../helpers/tmp.js';

const regs = getRegistries();
const clients: RegistryClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

function clientFor(reg: TestRegistry): RegistryClient {
  const c = createRegistryClient({
    plainHttp: reg.plainHttp,
    ...(reg.caFile ? { caFile: reg.caFile } : {}),
    credentials: async (h) => (reg.username && h === reg.host ? { kind: 'basic', username: reg.username, password: reg.password! } : undefined),
  });
  clients.push(c);
  return c;
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const desc = (mediaType: string, b: Buffer): Descriptor => ({ mediaType, digest: sha(b), size: b.length });

function artifact() {
  const config = Buffer.from(JSON.stringify({ name: 'falco-rules', version: '3.0.0', dependencies: [] }));
  const layer = randomBytes(70_000);
  const configDesc = descriptorFor('application/vnd.cncf.falco.rulesfile.config.v1+json', config);
  const layerDesc = { ...descriptorFor('application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz', layer), annotations: { 'org.opencontainers.image.title': 'falco_rules.yaml.tar.gz' } };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [layerDesc] }));
  return { config, layer, configDesc, layerDesc, manifest, manifestDesc: descriptorFor(MediaTypes.ociManifest, manifest) };
}

/** A minimal OCI image layout written by hand, so skopeo's input does not depend on rulesctl code. */
async function writeLayout(dir: string, tag: string, blobs: Buffer[], manifest: Buffer): Promise<void> {
  await mkdir(join(dir, 'blobs/sha256'), { recursive: true });
  for (const b of [...blobs, manifest]) await writeFile(join(dir, 'blobs/sha256', sha(b).slice(7)), b);
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const entry = { ...descriptorFor(MediaTypes.ociManifest, manifest), annotations: { 'org.opencontainers.image.ref.name': tag } };
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
}

describe.each(['open', 'token', 'tls'] as RegistryName[])('skopeo cross-check on %s', (name) => {
  const reg = regs[name];

  it('skopeo reads back what rulesctl pushed', async () => {
    const repository = uniqueRepo(`skopeo/${name}/push`);
    const repo = clientFor(reg).repository({ registry: reg.host, repository });
    const a = artifact();
    await repo.push(a.configDesc, a.config);
    await repo.push(a.layerDesc, Readable.from([a.layer]));
    await repo.pushManifest(a.manifestDesc, a.manifest, '3.0.0');
    expect((await skopeoInspectRaw(reg, repository, '3.0.0')).equals(a.manifest)).toBe(true);
    expect((await skopeoInspectRaw(reg, repository, a.manifestDesc.digest)).equals(a.manifest)).toBe(true);
    expect(await skopeoListTags(reg, repository)).toEqual(['3.0.0']);
    const out = tmpDir(`skopeo-out-${name}`);
    await skopeoCopy(dockerRef(reg, repository, '3.0.0'), `oci:${out}:x`, { src: reg });
    expect((await readFile(join(out, 'blobs/sha256', a.layerDesc.digest.slice(7)))).equals(a.layer)).toBe(true);
  });

  it('rulesctl reads what skopeo pushed', async () => {
    const repository = uniqueRepo(`skopeo/${name}/pull`);
    const a = artifact();
    const dir = tmpDir(`skopeo-in-${name}`);
    await writeLayout(dir, '1.2.3', [a.config, a.layer], a.manifest);
    await skopeoCopy(`oci:${dir}:1.2.3`, dockerRef(reg, repository, '1.2.3'), { dest: reg });
    const repo = clientFor(reg).repository(`${reg.host}/${repository}:1.2.3`);
    const { descriptor, bytes } = await repo.fetchManifest('1.2.3');
    expect(descriptor).toEqual(a.manifestDesc);
    expect(bytes.equals(a.manifest)).toBe(true);
    expect((await buffer(await repo.fetch(a.layerDesc))).equals(a.layer)).toBe(true);
    expect((await buffer(await repo.fetch(a.configDesc))).equals(a.config)).toBe(true);
  });
});
