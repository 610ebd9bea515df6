import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { descriptorFor, digestOf } from '../../../../src/oci/descriptor.js';
import { openLayout } from '../../../../src/oci/layout/store.js';
import { FALCO_LAYER, pushRulesfile, readStream } from './fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rulesctl-layout-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const blobDir = () => join(dir, 'blobs', 'sha256');

describe('openLayout', () => {
  it('creates oci-layout, index.json and blobs/', async () => {
    const store = await openLayout(dir, { create: true });
    expect(store.name).toBe(`oci:${dir}`);
    expect(JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'))).toMatchObject({ schemaVersion: 2, manifests: [] });
    expect(await readdir(join(dir, 'blobs'))).toEqual([]);
  });

  it('refuses a directory without a layout unless create is set', async () => {
    await expect(openLayout(dir)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('refuses an unknown layout version', async () => {
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await expect(openLayout(dir, { create: true })).rejects.toMatchObject({ code: 'ERR_INVALID_MANIFEST' });
  });

  it('tolerates extra files and unknown mediaType entries', async () => {
    await openLayout(dir, { create: true });
    const unknown = { mediaType: 'application/x-unknown', digest: digestOf('x'), size: 1, annotations: { 'org.opencontainers.image.ref.name': 'odd' } };
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [unknown], annotations: { keep: 'me' } }));
    await writeFile(join(dir, 'manifest.json'), '[]');
    const store = await openLayout(dir);
    await pushRulesfile(store, 'v1');
    expect(await store.listTags()).toEqual(['odd', 'v1']);
    const idx = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    expect(idx.annotations).toEqual({ keep: 'me' });
    expect(idx.manifests[0]).toEqual(unknown);
  });
});

describe('OciLayoutStore', () => {
  it('pushes blobs, tags, resolves by tag and digest, fetches verified', async () => {
    const store = await openLayout(dir, { create: true });
    const a = await pushRulesfile(store, '1.0.0');
    expect(await readFile(join(blobDir(), a.layer.digest.slice(7)))).toHaveLength(a.layer.size);
    const byTag = await store.resolve('1.0.0');
    expect(byTag).toEqual(a.manifest);
    expect(await store.resolve(a.manifest.digest)).toEqual(a.manifest);
    expect(await store.resolve(a.config.digest).catch((e) => e.code)).toBe('ERR_INVALID_MANIFEST');
    const { bytes } = await store.fetchManifest('1.0.0');
    expect(bytes.equals(a.manifestBytes)).toBe(true);
    expect(await store.exists(a.layer)).toBe(true);
    const progress: number[] = [];
    const data = await readStream(await store.fetch(a.layer, { onProgress: (n) => progress.push(n) }));
    expect(data).toHaveLength(a.layer.size);
    expect(progress.at(-1)).toBe(a.layer.size);
  });

  it('resolves a manifest blob by digest even when index.json does not list it', async () => {
    const store = await openLayout(dir, { create: true });
    const a = await pushRulesfile(store, 'v1');
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [] }));
    expect(await store.resolve(a.manifest.digest)).toEqual({ mediaType: a.manifest.mediaType, digest: a.manifest.digest, size: a.manifest.size });
    await expect(store.resolve('v1')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('records a manifest pushed with push() untagged in index.json', async () => {
    const store = await openLayout(dir, { create: true });
    const a = await pushRulesfile(store, 'v1');
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [] }));
    await store.push(a.manifest, a.manifestBytes);
    const idx = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    expect(idx.manifests).toEqual([a.manifest]);
    await store.tag(a.manifest, 'v1');
    expect(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')).manifests).toHaveLength(1);
  });

  it('re-tagging replaces the descriptor for that name', async () => {
    const store = await openLayout(dir, { create: true });
    const a = await pushRulesfile(store, 'latest', { content: 'a' });
    const b = await pushRulesfile(store, undefined, { content: 'b' });
    await store.tag(b.manifest, 'latest');
    expect((await store.resolve('latest')).digest).toBe(b.manifest.digest);
    const idx = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    const named = idx.manifests.filter((d: { annotations?: Record<string, string> }) => d.annotations?.['org.opencontainers.image.ref.name'] === 'latest');
    expect(named).toHaveLength(1);
    expect(named[0].digest).toBe(b.manifest.digest);
    expect(idx.manifests.some((d: { digest: string }) => d.digest === a.manifest.digest)).toBe(false);
    expect(await store.listTags()).toEqual(['latest']);
  });

  it('keeps every tag when tagging concurrently', async () => {
    const store = await openLayout(dir, { create: true });
    const a = await pushRulesfile(store, undefined);
    const tags = Array.from({ length: 25 }, (_, i) => `t${i}`);
    await Promise.all(tags.map((t) => store.tag(a.manifest, t)));
    expect(await store.listTags()).toEqual([...tags].sort());
    const other = await openLayout(dir);
    await Promise.all([other.tag(a.manifest, 'x'), store.tag(a.manifest, 'y')]);
    expect(await store.listTags()).toContain('x');
    expect(await store.listTags()).toContain('y');
  });

  it('rejects tagging a missing manifest and invalid tags', async () => {
    const store = await openLayout(dir, { create: true });
    const a = await pushRulesfile(store, undefined);
    await expect(store.tag({ ...a.manifest, digest: digestOf('nope') }, 'v1')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(store.tag(a.manifest, 'bad tag')).rejects.toMatchObject({ code: 'ERR_INVALID_REFERENCE' });
    await expect(store.resolve('missing')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('detects a corrupted blob on read', async () => {
    const store = await openLayout(dir, { create: true });
    const a = await pushRulesfile(store, 'v1');
    const path = join(blobDir(), a.layer.digest.slice('sha256:'.length));
    const original = await readFile(path);
    const flipped = Buffer.from(original);
    flipped[0] = flipped[0]! ^ 0xff;
    await writeFile(path, flipped);
    await expect(readStream(await store.fetch(a.layer))).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    await writeFile(path, original.subarray(1));
    await expect(readStream(await store.fetch(a.layer))).rejects.toMatchObject({ code: 'ERR_SIZE_MISMATCH' });
  });

  it('rejects a body that does not match its descriptor and leaves nothing behind', async () => {
    const store = await openLayout(dir, { create: true });
    const desc = descriptorFor(FALCO_LAYER, Buffer.from('good'));
    await expect(store.push(desc, Buffer.from('evil'))).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    await expect(store.push(desc, Buffer.from('good!'))).rejects.toMatchObject({ code: 'ERR_SIZE_MISMATCH' });
    expect(await readdir(blobDir())).toEqual([]);
  });

  it('never makes a partial write visible when the input errors mid-stream', async () => {
    const store = await openLayout(dir, { create: true });
    const full = Buffer.alloc(256 * 1024, 7);
    const desc = descriptorFor(FALCO_LAYER, full);
    let sent = 0;
    let sawTemp = false;
    const body = new Readable({
      read() {
        if (sent >= 128 * 1024) {
          readdir(blobDir()).then((names) => {
            sawTemp = names.some((n) => n.endsWith('.tmp'));
            this.destroy(new Error('connection reset'));
          }, (err) => this.destroy(err));
          return;
        }
        sent += 16 * 1024;
        this.push(full.subarray(sent - 16 * 1024, sent));
      },
    });
    await expect(store.push(desc, body)).rejects.toThrow('connection reset');
    expect(sawTemp).toBe(true);
    expect(await readdir(blobDir())).toEqual([]);
    expect(await store.exists(desc)).toBe(false);
  });

  it('skips an existing blob but still consumes and verifies the input', async () => {
    const store = await openLayout(dir, { create: true });
    const data = Buffer.from('same bytes');
    const desc = descriptorFor(FALCO_LAYER, data);
    await store.push(desc, data);
    const body = Readable.from([data]);
    await store.push(desc, body);
    expect(body.readableEnded).toBe(true);
    expect(await readdir(blobDir())).toEqual([desc.digest.slice(7)]);
  });

  it('honours an aborted signal', async () => {
    const store = await openLayout(dir, { create: true });
    const ac = new AbortController();
    ac.abort();
    await expect(store.resolve('x', { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
