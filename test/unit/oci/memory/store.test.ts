import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { descriptorFor, digestOf } from '../../../../src/oci/descriptor.js';
import { createMemoryRegistry, MemoryStore } from '../../../../src/oci/memory/store.js';
import { FALCO_LAYER, pushRulesfile, readStream } from '../layout/fixtures.js';

describe('MemoryStore', () => {
  it('pushes, tags, resolves and fetches', async () => {
    const store = new MemoryStore();
    const a = await pushRulesfile(store, 'v1');
    expect(await store.resolve('v1')).toEqual(a.manifest);
    expect(await store.resolve(a.manifest.digest)).toEqual(a.manifest);
    expect((await store.fetchManifest('v1')).bytes.equals(a.manifestBytes)).toBe(true);
    expect(await readStream(await store.fetch(a.layer))).toHaveLength(a.layer.size);
    expect(await store.exists(a.config)).toBe(true);
    expect(await store.listTags()).toEqual(['v1']);
  });

  it('re-tags and lists tags sorted', async () => {
    const store = new MemoryStore();
    await pushRulesfile(store, 'b', { content: '1' });
    const second = await pushRulesfile(store, 'a', { content: '2' });
    await store.tag(second.manifest, 'b');
    expect((await store.resolve('b')).digest).toBe(second.manifest.digest);
    expect(await store.listTags()).toEqual(['a', 'b']);
  });

  it('verifies pushed streams and reports missing content', async () => {
    const store = new MemoryStore({ name: 'mem' });
    const desc = descriptorFor(FALCO_LAYER, Buffer.from('good'));
    await expect(store.push(desc, Readable.from([Buffer.from('evil')]))).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    expect(await store.exists(desc)).toBe(false);
    await expect(store.push(desc, Readable.from([Buffer.from('go')]))).rejects.toMatchObject({ code: 'ERR_SIZE_MISMATCH' });
    const failing = new Readable({ read() { this.destroy(new Error('reset')); } });
    await expect(store.push(desc, failing)).rejects.toThrow('reset');
    await expect(store.resolve('nope')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(store.fetch({ ...desc, digest: digestOf('x') })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(store.pushManifest(desc, Buffer.from('evil'))).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
  });

  it('mounts blobs between repositories of one memory registry', async () => {
    const registry = createMemoryRegistry('mem.local');
    const a = registry.repository('a');
    const b = registry.repository('b');
    const pushed = await pushRulesfile(a, 'v1');
    expect(b.location).toEqual({ registry: 'mem.local', repository: 'b' });
    expect(await b.mount(pushed.layer, 'a')).toBe(true);
    expect(await b.exists(pushed.layer)).toBe(true);
    expect(await b.mount(pushed.layer, 'missing')).toBe(false);
  });
});
