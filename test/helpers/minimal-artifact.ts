/**
 * The smallest rulesfile-shaped artifact (config `{"name","version"}`, one layer of `content`, an
 * OCI manifest) pushed to any Target (a registry repository, the memory store), for tests about
 * what is around an artifact: signatures, auth, references.
 */
import { descriptorFor, type Descriptor, type ImageManifest } from '../../src/oci/descriptor.js';
import { MediaTypes } from '../../src/oci/media-types.js';
import type { Target } from '../../src/oci/target.js';

export interface MinimalArtifact {
  /** The config's name (default falco-rules); its version is 1.0.0. */
  name?: string;
  /** The layer's bytes (default `rules`): distinct contents give distinct digests. */
  content?: string;
  /** Default `v-<content>`. */
  tag?: string;
  /** The layer's org.opencontainers.image.title, if any. */
  title?: string;
}

/** Pushes the config, the layer and the manifest (tagged); returns the manifest's descriptor. */
export async function pushMinimalArtifact(target: Target, { name = 'falco-rules', content = 'rules', tag = `v-${content}`, title }: MinimalArtifact = {}): Promise<Descriptor> {
  const config = Buffer.from(JSON.stringify({ name, version: '1.0.0' }));
  const layer = Buffer.from(content);
  const configDesc = descriptorFor('application/vnd.cncf.falco.rulesfile.config.v1+json', config);
  const layerDesc = descriptorFor('application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz', layer, title !== undefined ? { annotations: { 'org.opencontainers.image.title': title } } : {});
  await target.push(configDesc, config);
  await target.push(layerDesc, layer);
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [layerDesc] };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const desc = descriptorFor(MediaTypes.ociManifest, bytes);
  await target.pushManifest(desc, bytes, tag);
  return desc;
}
