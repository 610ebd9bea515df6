import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { descriptorFor, type Descriptor, type ImageManifest } from '../../../src/oci/descriptor.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import { MemoryStore } from '../../../src/oci/memory/store.js';

export interface TestKeys {
  privateKey: KeyObject;
  publicPem: string;
}

export function newKeys(): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Pushes a small rulesfile-shaped artifact and returns its manifest descriptor. */
export async function pushArtifact(store: MemoryStore, content = 'rules'): Promise<Descriptor> {
  const config = Buffer.from(JSON.stringify({ name: 'falco-rules', version: '1.0.0' }));
  const layer = Buffer.from(content);
  const configDesc = descriptorFor('application/vnd.cncf.falco.rulesfile.config.v1+json', config);
  const layerDesc = descriptorFor('application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz', layer);
  await store.push(configDesc, config);
  await store.push(layerDesc, layer);
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [layerDesc] };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const desc = descriptorFor(MediaTypes.ociManifest, bytes);
  await store.pushManifest(desc, bytes, `v-${content}`);
  return desc;
}

/** Rewrites the manifest at `tag` with `edit` and re-tags it (for tampering tests). */
export async function editManifest(store: MemoryStore, tag: string, edit: (m: ImageManifest) => void): Promise<void> {
  const { bytes } = await store.fetchManifest(tag);
  const m = JSON.parse(bytes.toString()) as ImageManifest;
  edit(m);
  const out = Buffer.from(JSON.stringify(m));
  await store.pushManifest(descriptorFor(m.mediaType ?? MediaTypes.ociManifest, out), out, tag);
}
