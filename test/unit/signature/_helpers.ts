import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { descriptorFor, type Descriptor, type ImageManifest } from '../../../src/oci/descriptor.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import { MemoryStore } from '../../../src/oci/memory/store.js';
import { pushMinimalArtifact } from '../../helpers/minimal-artifact.js';

export interface TestKeys {
  privateKey: KeyObject;
  publicPem: string;
}

export function newKeys(): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Pushes a small rulesfile-shaped artifact (tag `v-<content>`) and returns its manifest descriptor. */
export const pushArtifact = (store: MemoryStore, content = 'rules'): Promise<Descriptor> => pushMinimalArtifact(store, { content });

/** Rewrites the manifest at `tag` with `edit` and re-tags it (for tampering tests). */
export async function editManifest(store: MemoryStore, tag: string, edit: (m: ImageManifest) => void): Promise<void> {
  const { bytes } = await store.fetchManifest(tag);
  const m = JSON.parse(bytes.toString()) as ImageManifest;
  edit(m);
  const out = Buffer.from(JSON.stringify(m));
  await store.pushManifest(descriptorFor(m.mediaType ?? MediaTypes.ociManifest, out), out, tag);
}
