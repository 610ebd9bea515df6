// Writes the benchmark's inputs: a random blob (hashed as written) and an OCI image layout holding
// it as the layer of a Falco plugin artifact that skopeo can read (image-layout spec 1.0.0).
import { createHash, randomFillSync } from 'node:crypto';
import { open, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.cncf.falco.plugin.config.v1+json',
  layer: 'application/vnd.cncf.falco.plugin.layer.v1+tar.gz',
};

/** Writes `size` random bytes to `file` (4 MiB at a time); resolves to its descriptor fields. */
export async function writeRandomFile(file, size) {
  const fh = await open(file, 'w');
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(4 << 20);
  try {
    for (let left = size; left > 0;) {
      const n = Math.min(left, buf.length);
      randomFillSync(buf, 0, n);
      hash.update(buf.subarray(0, n));
      await fh.write(buf, 0, n);
      left -= n;
    }
  } finally {
    await fh.close();
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

function sha256(bytes) {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Config and manifest bytes for a plugin artifact whose only layer is `layer`. */
export function pluginArtifact(layer, name = 'bench-plugin') {
  const config = Buffer.from(JSON.stringify({ name, version: '1.0.0', requirements: [{ name: 'plugin_api_version', version: '3.0.0' }] }));
  const configDesc = { mediaType: MEDIA.config, digest: sha256(config), size: config.length };
  const layerDesc = { mediaType: MEDIA.layer, digest: layer.digest, size: layer.size, annotations: { 'org.opencontainers.image.title': `${name}.tar.gz` } };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.manifest, config: configDesc, layers: [layerDesc] }));
  return { config, configDesc, layerDesc, manifest, manifestDesc: { mediaType: MEDIA.manifest, digest: sha256(manifest), size: manifest.length } };
}

/**
 * Creates an OCI image layout at `dir` with a random layer of `size` bytes, tagged `tag`.
 * Resolves to `{ layerFile, artifact }` (the layer file lives inside the layout).
 */
export async function writeLayout(dir, size, tag) {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const tmp = join(blobs, 'layer.tmp');
  const layer = await writeRandomFile(tmp, size);
  const layerFile = join(blobs, layer.digest.slice(7));
  await rename(tmp, layerFile);
  const artifact = pluginArtifact(layer);
  await writeFile(join(blobs, artifact.configDesc.digest.slice(7)), artifact.config);
  await writeFile(join(blobs, artifact.manifestDesc.digest.slice(7)), artifact.manifest);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...artifact.manifestDesc, annotations: { 'org.opencontainers.image.ref.name': tag } }] };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  return { layerFile, artifact };
}
