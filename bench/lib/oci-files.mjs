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

/** A minimal USTAR header for one regular file (mode 0644, mtime 0). */
function ustarHeader(name, size) {
  const h = Buffer.alloc(512);
  const put = (off, len, s) => h.write(s, off, len, 'ascii');
  const oct = (off, len, n) => put(off, len, `${n.toString(8).padStart(len - 1, '0')}\0`);
  put(0, 100, name);
  oct(100, 8, 0o644); oct(108, 8, 0); oct(116, 8, 0); oct(124, 12, size); oct(136, 12, 0);
  h.fill(0x20, 148, 156); put(156, 1, '0'); put(257, 6, 'ustar\0'); put(263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/**
 * Writes a real plugin `.tar.gz` of about `size` bytes (one random file in a tar, gzip level 0 so
 * making it is cheap and gunzip is a copy), hashed as written: `registry push` uploads a tar.gz
 * byte for byte but packs anything else into one first (falcoctl IsTarGz), which is not transfer.
 */
export async function writeTarGz(file, size) {
  const { createGzip } = await import('node:zlib');
  const { createWriteStream } = await import('node:fs');
  const { Readable, Transform } = await import('node:stream');
  const { pipeline } = await import('node:stream/promises');
  const payload = Math.max(0, size - 4096);
  async function* tar() {
    yield ustarHeader('libbench.so', payload);
    const buf = Buffer.allocUnsafe(4 << 20);
    for (let left = payload; left > 0;) {
      const n = Math.min(left, buf.length);
      yield Buffer.from(randomFillSync(buf, 0, n).subarray(0, n));
      left -= n;
    }
    yield Buffer.alloc((512 - (payload % 512)) % 512 + 1024);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({ transform(c, _e, cb) { hash.update(c); bytes += c.length; cb(null, c); } });
  await pipeline(Readable.from(tar()), createGzip({ level: 0 }), tap, createWriteStream(file));
  return { digest: `sha256:${hash.digest('hex')}`, size: bytes };
}
