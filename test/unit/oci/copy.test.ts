import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copy, copyGraph, type CopyEvent } from '../../../src/oci/copy.js';
import { openLayout } from '../../../src/oci/layout/store.js';
import { createMemoryRegistry, MemoryStore } from '../../../src/oci/memory/store.js';
import { descriptorFor, type Descriptor } from '../../../src/oci/descriptor.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import type { Target } from '../../../src/oci/target.js';
import { pushMultiPlatform, pushRulesfile, readStream } from './layout/fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rulesctl-copy-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectSameArtifact(a: Target, aRef: string, b: Target, bRef: string): Promise<void> {
  const left = await a.fetchManifest(aRef);
  const right = await b.fetchManifest(bRef);
  expect(right.descriptor.digest).toBe(left.descriptor.digest);
  expect(right.bytes.equals(left.bytes)).toBe(true);
}

describe('copy', () => {
  it('copies memory → layout under several tags, children before parents', async () => {
    const src = new MemoryStore();
    const pushed = await pushRulesfile(src, '1.0.0');
    const dst = await openLayout(dir, { create: true });
    const events: CopyEvent[] = [];
    const result = await copy(src, '1.0.0', dst, ['1.0.0', '1', 'latest'], { onBlob: (e) => events.push(e) });
    expect(result).toMatchObject({ descriptor: pushed.manifest, blobsCopied: 3, blobsSkipped: 0, blobsMounted: 0 });
    expect(result.bytes).toBe(pushed.config.size + pushed.layer.size + pushed.manifest.size);
    expect(events.at(-1)).toMatchObject({ kind: 'manifest', status: 'copied' });
    expect(await dst.listTags()).toEqual(['1', '1.0.0', 'latest']);
    await expectSameArtifact(src, '1.0.0', dst, 'latest');
    expect(await readStream(await dst.fetch(pushed.layer))).toHaveLength(pushed.layer.size);
  });

  it('copies layout → memory and a multi-platform index whole', async () => {
    const src = await openLayout(dir, { create: true });
    const { index, children } = await pushMultiPlatform(src, 'plugin');
    const dst = new MemoryStore();
    const result = await copy(src, 'plugin', dst, 'plugin');
    expect(result.descriptor).toEqual(index);
    // 1 index + 2 manifests + 2 layers + 1 shared config
    expect(result.blobsCopied).toBe(6);
    await expectSameArtifact(src, 'plugin', dst, 'plugin');
    for (const c of children) expect(await dst.exists(c.layer)).toBe(true);
  });

  it('copyGraph copies an already-resolved root by digest only and reports progress', async () => {
    const src = new MemoryStore();
    const pushed = await pushRulesfile(src, 'v1', { layer: Buffer.alloc(200_000, 3) });
    const dst = await openLayout(dir, { create: true });
    const progress = new Map<string, number>();
    const result = await copyGraph(src, dst, pushed.manifest, { onProgress: (p) => progress.set(p.descriptor.digest, p.bytes) });
    expect(result).toMatchObject({ descriptor: pushed.manifest, blobsCopied: 3 });
    expect(progress.get(pushed.layer.digest)).toBe(200_000);
    expect(await dst.listTags()).toEqual([]);
    expect((await dst.resolve(pushed.manifest.digest)).digest).toBe(pushed.manifest.digest);
  });

  it('walks Docker manifest lists and schema 2 manifests', async () => {
    const src = new MemoryStore();
    const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layerBytes = Buffer.from('docker layer');
    const config = descriptorFor('application/vnd.docker.container.image.v1+json', configBytes);
    const layer = descriptorFor('application/vnd.docker.image.rootfs.diff.tar.gzip', layerBytes);
    await src.push(config, configBytes);
    await src.push(layer, layerBytes);
    const mBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config, layers: [layer] }));
    const m = descriptorFor(MediaTypes.dockerManifest, mBytes, { platform: { os: 'linux', architecture: 'amd64' } });
    await src.pushManifest(m, mBytes);
    const lBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifestList, manifests: [m] }));
    const list = descriptorFor(MediaTypes.dockerManifestList, lBytes);
    await src.pushManifest(list, lBytes, 'docker');
    const dst = await openLayout(dir, { create: true });
    expect(await copy(src, 'docker', dst, 'docker')).toMatchObject({ blobsCopied: 4 });
    expect(await dst.exists(layer)).toBe(true);
    const single = new MemoryStore();
    // a single manifest matches a platform through its image config
    await src.tag(m, 'single');
    expect((await copy(src, 'single', single, 's', { platform: { os: 'linux', architecture: 'amd64' } })).descriptor.digest).toBe(m.digest);
    await expect(copy(src, 'single', single, 's', { platform: { os: 'linux', architecture: 'arm64' } })).rejects.toMatchObject({ code: 'ERR_PLATFORM_NOT_FOUND' });
  });

  it('copies only the manifest of the selected platform and tags it as the root', async () => {
    const src = new MemoryStore();
    const { children } = await pushMultiPlatform(src, 'plugin');
    const arm = children[1]!;
    const dst = await openLayout(dir, { create: true });
    const result = await copy(src, 'plugin', dst, 'v1', { platform: { os: 'linux', architecture: 'arm64' } });
    expect(result.descriptor.digest).toBe(arm.manifest.digest);
    expect((await dst.resolve('v1')).digest).toBe(arm.manifest.digest);
    expect(await dst.exists(children[0]!.layer)).toBe(false);
    await expect(copy(src, 'plugin', dst, 'v2', { platform: { os: 'windows', architecture: 'amd64' } })).rejects.toMatchObject({
      code: 'ERR_PLATFORM_NOT_FOUND',
    });
  });

  it('skips what the destination has: a whole existing manifest, or shared blobs', async () => {
    const src = new MemoryStore();
    const a = await pushRulesfile(src, 'a', { content: 'one' });
    await pushRulesfile(src, 'b', { content: 'two' });
    const dst = await openLayout(dir, { create: true });
    await copy(src, 'a', dst, 'a');
    const again = await copy(src, 'a', dst, ['a', 'again']);
    expect(again).toMatchObject({ blobsCopied: 0, blobsSkipped: 1, bytes: 0 });
    expect((await dst.resolve('again')).digest).toBe(a.manifest.digest);
    const events: CopyEvent[] = [];
    const other = await copy(src, 'b', dst, 'b', { onBlob: (e) => events.push(e) });
    // the config is shared with "a"; layer and manifest are new
    expect(other).toMatchObject({ blobsCopied: 2, blobsSkipped: 1 });
    expect(events.find((e) => e.status === 'skipped')?.descriptor.digest).toBe(a.config.digest);
  });

  it('mounts across repositories of one registry and uploads when mount fails', async () => {
    const registry = createMemoryRegistry();
    const from = registry.repository('team/rules');
    const pushed = await pushRulesfile(from, 'v1');
    const to = registry.repository('mirror/rules');
    const result = await copy(from, 'v1', to, 'v1');
    expect(result).toMatchObject({ blobsMounted: 2, blobsCopied: 1 });
    const elsewhere = createMemoryRegistry('other.local').repository('mirror/rules');
    expect(await copy(from, 'v1', elsewhere, 'v1')).toMatchObject({ blobsMounted: 0, blobsCopied: 3 });
    const refusing = registry.repository('refusing');
    refusing.mount = async () => false;
    expect(await copy(from, 'v1', refusing, 'v1')).toMatchObject({ blobsMounted: 0, blobsCopied: 3 });
    expect(await refusing.exists(pushed.layer)).toBe(true);
  });

  it('limits concurrent blob transfers (default 3)', async () => {
    const src = new MemoryStore();
    const layers: Descriptor[] = [];
    for (let i = 0; i < 8; i++) {
      const data = Buffer.from(`layer ${i}`);
      const d = descriptorFor('application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz', data);
      await src.push(d, data);
      layers.push(d);
    }
    const config = (await src.fetchManifest((await pushRulesfile(src, 'cfg')).manifest)).descriptor;
    const { config: cfg } = JSON.parse((await src.fetchManifest(config)).bytes.toString()) as { config: Descriptor };
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: cfg, layers }));
    const root = descriptorFor(MediaTypes.ociManifest, bytes);
    await src.pushManifest(root, bytes, 'wide');
    const peakFor = async (concurrency?: number): Promise<number> => {
      const dst = new MemoryStore();
      let active = 0;
      let peak = 0;
      const push = dst.push.bind(dst);
      dst.push = async (d, body, o) => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 10));
        try {
          return await push(d, body, o);
        } finally {
          active--;
        }
      };
      const result = await copy(src, 'wide', dst, 'wide', concurrency === undefined ? {} : { concurrency });
      expect(result.blobsCopied).toBe(10);
      return peak;
    };
    expect(await peakFor(2)).toBe(2);
    expect(await peakFor()).toBe(3);
    expect(await peakFor(1)).toBe(1);
  });

  it('stops on an aborted signal and leaves no partial blob in a layout', async () => {
    const src = new MemoryStore();
    await pushRulesfile(src, 'v1', { layer: Buffer.alloc(64 * 1024, 1) });
    const dst = await openLayout(dir, { create: true });
    const ac = new AbortController();
    const run = copy(src, 'v1', dst, 'v1', {
      signal: ac.signal,
      onProgress: () => ac.abort(new Error('stop')),
    });
    await expect(run).rejects.toBeDefined();
    const names = await readdir(join(dir, 'blobs', 'sha256')).catch(() => []);
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    await expect(dst.resolve('v1')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('fails on a corrupted source blob without tagging the destination', async () => {
    const src = new MemoryStore();
    const pushed = await pushRulesfile(src, 'v1');
    src.blobs.set(pushed.layer.digest, Buffer.alloc(pushed.layer.size, 0));
    const dst = new MemoryStore();
    await expect(copy(src, 'v1', dst, 'v1')).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    expect(await dst.listTags()).toEqual([]);
    expect(await dst.exists(pushed.layer)).toBe(false);
  });
});
