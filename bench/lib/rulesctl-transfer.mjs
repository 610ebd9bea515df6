// rulesctl's side of bench/transfer.mjs, run in its own process so its peak RSS can be measured.
// Uses the built library (dist/; build with `npx tsc -p .`).
//
//   node bench/lib/rulesctl-transfer.mjs push      <host> <repo> <tag> <layoutDir>   layer file stream + config + manifest
//   node bench/lib/rulesctl-transfer.mjs push-copy <host> <repo> <tag> <layoutDir>   copy(layout → registry)
//   node bench/lib/rulesctl-transfer.mjs pull      <host> <repo> <tag> <outFile>     verified layer stream → temp file → rename
//   node bench/lib/rulesctl-transfer.mjs pull-copy <host> <repo> <tag> <layoutDir>   copy(registry → layout)
//   node bench/lib/rulesctl-transfer.mjs pull-raw  <host> <repo> <digest> <outFile>  reference, not rulesctl: plain
//        undici request → sha256 + file write loop (issue 3's "plain undici stream-hash-write loop")
//
// Prints one JSON line: { mode, importMs, transferMs, bytes }.
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// As bin/rulesctl.cjs does, and for every mode (the reference loop too): without it V8's background
// TurboFan compile of undici's llhttp wasm holds the process 60-150 ms after the last request, a
// cost of short-lived processes, not of the transfer. Embedders can pass `node --liftoff-only`.
setFlagsFromString('--liftoff-only');

// $RULESCTL_ROOT: the build to use (bench/transfer.mjs passes its private snapshot); default this repo.
const ROOT = process.env.RULESCTL_ROOT ? pathToFileURL(`${process.env.RULESCTL_ROOT}/`) : new URL('../../', import.meta.url);
const t0 = performance.now();
const { createRegistryClient } = await import(new URL('dist/oci/registry/client.js', ROOT).href);
const { copy } = await import(new URL('dist/oci/copy.js', ROOT).href);
const { openLayout } = await import(new URL('dist/oci/layout/store.js', ROOT).href);
const importMs = performance.now() - t0;

const [mode, host, repository, tag, path] = process.argv.slice(2);
if (!mode || !host || !repository || !tag || !path) {
  process.stderr.write('usage: rulesctl-transfer.mjs push|push-copy|pull|pull-copy <host> <repo> <tag> <path>\n');
  process.exit(2);
}

const client = createRegistryClient({ plainHttp: true });
const repo = client.repository({ registry: host, repository });
const t1 = performance.now();
let bytes = 0;

async function layoutManifest(dir) {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
  const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag) ?? index.manifests[0];
  const blob = (d) => join(dir, 'blobs', ...d.digest.split(':'));
  const bytes = await readFile(blob(desc));
  return { desc, bytes, manifest: JSON.parse(bytes.toString('utf8')), blob };
}

if (mode === 'push') {
  const { desc, bytes: mbytes, manifest, blob } = await layoutManifest(path);
  await repo.push(manifest.config, await readFile(blob(manifest.config)));
  for (const layer of manifest.layers) {
    await repo.push(layer, createReadStream(blob(layer), { highWaterMark: 1 << 20 }));
    bytes += layer.size;
  }
  await repo.pushManifest(desc, mbytes, tag);
} else if (mode === 'push-copy') {
  const layout = await openLayout(path);
  bytes = (await copy(layout, tag, repo, tag)).bytes;
} else if (mode === 'pull') {
  const desc = await repo.resolve(tag);
  const { bytes: mbytes } = await repo.fetchManifest(desc);
  const manifest = JSON.parse(mbytes.toString('utf8'));
  for await (const _ of await repo.fetch(manifest.config)); // small config, verified (a pull reads it too)
  const layer = manifest.layers[0];
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await pipeline(await repo.fetch(layer), createWriteStream(tmp, { highWaterMark: 1 << 20 })); // as pullArtifact
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  bytes = layer.size;
} else if (mode === 'pull-raw') {
  const { request } = await import(new URL('node_modules/undici/index.js', ROOT).href);
  const { createHash } = await import('node:crypto');
  const res = await request(`http://${host}/v2/${repository}/blobs/${tag}`);
  if (res.statusCode !== 200) throw new Error(`GET blob: ${res.statusCode}`);
  const hash = createHash('sha256');
  const ws = createWriteStream(path);
  for await (const chunk of res.body) {
    hash.update(chunk);
    bytes += chunk.length;
    if (!ws.write(chunk)) await new Promise((r) => ws.once('drain', r));
  }
  await new Promise((resolve, reject) => ws.end((err) => (err ? reject(err) : resolve())));
  if (`sha256:${hash.digest('hex')}` !== tag) throw new Error('pull-raw: digest mismatch');
} else if (mode === 'pull-copy') {
  const layout = await openLayout(path, { create: true });
  bytes = (await copy(repo, tag, layout, tag)).bytes;
} else {
  process.stderr.write(`unknown mode "${mode}"\n`);
  process.exit(2);
}
const transferMs = performance.now() - t1;
await client.close();
process.stdout.write(`${JSON.stringify({ mode, importMs, transferMs, bytes })}\n`);
