/**
 * The install metadata cache: content-addressed by sha256/sha512, verified on every read, placed
 * by rename, bad entries dropped, write failures harmless; the deferred store writes on commit only.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeferredMetaStore, MAX_META_BYTES, MetaCache, metaCacheDir } from '../../../src/install/meta-cache.js';
import { memoryLogger } from '../../../src/log.js';
import { tmpDir } from '../../helpers/tmp.js';

const digest = (bytes: Uint8Array | string, alg: 'sha256' | 'sha512' = 'sha256') => `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
const MANIFEST = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}');

function cache() {
  const state = tmpDir('unit-meta-cache');
  const log = memoryLogger();
  return { state, log, meta: new MetaCache(metaCacheDir(state), log) };
}

describe('MetaCache', () => {
  it('keeps bytes under <stateDir>/.rulesctl/meta/<alg>/<hex>, 0600 in 0700 dirs, and returns them', async () => {
    const { state, meta } = cache();
    const d = digest(MANIFEST);
    expect(await meta.get(d)).toBeUndefined();
    await meta.put(d, MANIFEST);
    const path = join(state, '.rulesctl', 'meta', 'sha256', d.slice(7));
    expect(meta.pathOf(d)).toBe(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    for (const dir of [join(state, '.rulesctl', 'meta'), join(state, '.rulesctl', 'meta', 'sha256')]) {
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
    }
    expect((await meta.get(d))?.equals(MANIFEST)).toBe(true);
  });

  it('takes sha512 digests, each algorithm in its own directory', async () => {
    const { state, meta } = cache();
    const d = digest(MANIFEST, 'sha512');
    await meta.put(d, MANIFEST);
    expect(await readdir(join(state, '.rulesctl', 'meta'))).toEqual(['sha512']);
    expect(await readFile(join(state, '.rulesctl', 'meta', 'sha512', d.slice(7)))).toEqual(MANIFEST);
    expect((await meta.get(d))?.equals(MANIFEST)).toBe(true);
    expect(await meta.get(digest(MANIFEST))).toBeUndefined();
  });

  it('refuses to keep bytes that do not hash to the digest, malformed digests and oversized entries', async () => {
    const { state, meta } = cache();
    await meta.put(digest('other bytes'), MANIFEST);
    await meta.put(`sha512:${createHash('sha256').update(MANIFEST).digest('hex')}`, MANIFEST);
    await meta.put('sha256:../../etc', MANIFEST);
    await meta.put('md5:abc', MANIFEST);
    const big = Buffer.alloc(MAX_META_BYTES + 1, 0x20);
    await meta.put(digest(big), big);
    expect(await readdir(state)).toEqual([]);
    expect(await meta.get('sha256:../../etc')).toBeUndefined();
  });

  it('verifies on read: a corrupted entry is a miss and is removed; a later put restores it', async () => {
    const { meta, log } = cache();
    const d = digest(MANIFEST);
    await meta.put(d, MANIFEST);
    const path = meta.pathOf(d)!;
    const flipped = Buffer.from(MANIFEST);
    flipped[10] = flipped[10]! ^ 1;
    await writeFile(path, flipped);
    expect(await meta.get(d)).toBeUndefined();
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(log.records.some((r) => r.level === 'debug' && r.fields.digest === d)).toBe(true);
    await meta.put(d, MANIFEST);
    expect((await meta.get(d))?.equals(MANIFEST)).toBe(true);
    // Truncated and empty files are misses too.
    await writeFile(path, MANIFEST.subarray(0, 20));
    expect(await meta.get(d)).toBeUndefined();
    await writeFile(path, '');
    expect(await meta.get(d)).toBeUndefined();
  });

  it('treats a directory or an oversized file at the entry path as a miss', async () => {
    const { meta } = cache();
    const big = Buffer.alloc(MAX_META_BYTES + 1, 0x20);
    const bigPath = meta.pathOf(digest(big))!;
    await mkdir(join(bigPath, '..'), { recursive: true });
    await writeFile(bigPath, big);
    expect(await meta.get(digest(big))).toBeUndefined();
    await expect(stat(bigPath)).rejects.toMatchObject({ code: 'ENOENT' });
    const d = digest(MANIFEST);
    await mkdir(meta.pathOf(d)!);
    expect(await meta.get(d)).toBeUndefined();
  });

  it('puts atomically: an existing entry is replaced by rename (new inode), no temp file is left', async () => {
    const { meta } = cache();
    const d = digest(MANIFEST);
    const path = meta.pathOf(d)!;
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, 'garbage from an old crash');
    const before = await stat(path);
    await meta.put(d, MANIFEST);
    const after = await stat(path);
    expect(after.ino).not.toBe(before.ino);
    expect(await readFile(path)).toEqual(MANIFEST);
    expect(await readdir(join(path, '..'))).toEqual([d.slice(7)]);
  });

  it('a put that cannot write is logged, never thrown, and later reads are misses', async () => {
    const { state, meta, log } = cache();
    await mkdir(join(state, '.rulesctl'), { recursive: true });
    await writeFile(join(state, '.rulesctl', 'meta'), 'a file where the cache directory should be');
    const d = digest(MANIFEST);
    await expect(meta.put(d, MANIFEST)).resolves.toBeUndefined();
    expect(log.records.filter((r) => r.level === 'warn').map((r) => r.fields.digest)).toEqual([d]);
    expect(await meta.get(d)).toBeUndefined();
  });

  it('an aborted read is a miss that keeps the entry', async () => {
    const { meta } = cache();
    const d = digest(MANIFEST);
    await meta.put(d, MANIFEST);
    expect(await meta.get(d, { signal: AbortSignal.abort() })).toBeUndefined();
    expect((await meta.get(d))?.equals(MANIFEST)).toBe(true);
  });
});

describe('DeferredMetaStore', () => {
  it('serves puts from memory and writes them only on commit', async () => {
    const { state, meta } = cache();
    const deferred = new DeferredMetaStore(meta);
    const d = digest(MANIFEST);
    await deferred.put(d, MANIFEST);
    await deferred.put(digest('x'), MANIFEST); // wrong digest: dropped
    expect((await deferred.get(d))?.equals(MANIFEST)).toBe(true);
    expect(await deferred.get(digest('x'))).toBeUndefined();
    expect(await readdir(state)).toEqual([]);
    await deferred.commit();
    expect((await meta.get(d))?.equals(MANIFEST)).toBe(true);
    expect(await readdir(join(state, '.rulesctl', 'meta', 'sha256'))).toEqual([d.slice(7)]);
  });
});
