import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addIndex, cachePaths, defaultCacheDir, listIndexes, loadMergedIndex, mergeIndexes, removeIndex, signatureForIndexRef, updateIndex } from '../../../src/index/cache.js';
import { parseIndexesConfig, serializeIndexesConfig } from '../../../src/index/indexes-config.js';
import type { IndexEntry } from '../../../src/index/index-file.js';
import { startIndexServer, type IndexServer } from './_server.js';

const entry = (name: string, repository = `x/${name}`): IndexEntry => ({
  name, type: 'plugin', registry: 'ghcr.io', repository, description: '', home: '', keywords: [], license: '', maintainers: [], sources: [],
});
const V1 = '- name: b\n  type: plugin\n  registry: r\n  repository: x/b\n- name: a\n  type: rulesfile\n  registry: r\n  repository: x/a\n';
const V2 = '- name: c\n  type: plugin\n  registry: r\n  repository: x/c\n';

let server: IndexServer;
let cacheDir: string;
let clock = new Date(2024, 0, 2, 3, 4, 5);
const opts = () => ({ cacheDir, fetch: { allowPlainHttp: true }, now: () => clock });

beforeAll(async () => {
  server = await startIndexServer(V1);
  cacheDir = join(await mkdtemp(join(tmpdir(), 'rulesctl-cache-')), '.config', 'falcoctl');
});
afterAll(async () => { await server.close(); });

describe('indexes.yaml', () => {
  it('writes falcoctl\'s layout and reads it back', () => {
    const e = { added_timestamp: '2024-01-02 03:04:05', name: 'local', updated_timestamp: '2024-01-02 03:04:05', url: 'file:///i.yaml', backend: '' };
    const text = serializeIndexesConfig([e]);
    expect(text).toBe('configs:\n    - added_timestamp: "2024-01-02 03:04:05"\n      name: local\n      updated_timestamp: "2024-01-02 03:04:05"\n      url: file:///i.yaml\n      backend: ""\n');
    expect(parseIndexesConfig(text)).toEqual([e]);
    expect(serializeIndexesConfig([])).toBe('configs: []\n');
    expect(() => parseIndexesConfig('configs:\n  - url: [1]\n')).toThrow('configs[0].url: expected a string');
  });
  it('defaults to $HOME/.config/falcoctl', () => {
    expect(defaultCacheDir('/home/u')).toBe('/home/u/.config/falcoctl');
  });
});

describe('index cache', () => {
  const url = () => `${server.url}/index.yaml`;

  it('adds an index: sorted cache file, config entry, no-op the second time', async () => {
    const { added, entry: e } = await addIndex({ name: 'local', url: url() }, opts());
    expect(added).toBe(true);
    expect(e).toEqual({ added_timestamp: '2024-01-02 03:04:05', name: 'local', updated_timestamp: '2024-01-02 03:04:05', url: url(), backend: '' });
    const cached = await readFile(cachePaths(cacheDir, 'local').index, 'utf8');
    expect(cached.indexOf('name: a')).toBeLessThan(cached.indexOf('name: b'));
    const before = server.requests.length;
    expect((await addIndex({ name: 'local', url: 'https://elsewhere/i.yaml' }, opts())).added).toBe(false);
    expect(server.requests.length).toBe(before);
    expect(await listIndexes({ cacheDir })).toEqual([e]);
  });

  it('updates conditionally: 304 keeps the cache, a new ETag replaces it', async () => {
    clock = new Date(2024, 0, 3, 0, 0, 0);
    const r1 = await updateIndex('local', opts());
    expect(r1.changed).toBe(false);
    expect(r1.entry.updated_timestamp).toBe('2024-01-03 00:00:00');
    expect(server.requests.at(-1)!.headers['if-none-match']).toBe('"v1"');
    server.body = V2;
    server.etag = '"v2"';
    const r2 = await updateIndex('local', opts());
    expect(r2.changed).toBe(true);
    expect(await readFile(cachePaths(cacheDir, 'local').index, 'utf8')).toBe(`${V2}  description: ""\n  home: ""\n  keywords: []\n  license: ""\n  maintainers: []\n  sources: []\n`);
    await expect(updateIndex('nope', opts())).rejects.toThrow('unable to update index nope: not found in the cache');
  });

  it('wraps fetch failures with the index name and URL', async () => {
    await expect(addIndex({ name: 'bad', url: `${server.url}/missing` }, opts()))
      .rejects.toThrow(`unable to fetch index "bad" with URL "${server.url}/missing": cannot fetch index: 404`);
    expect((await listIndexes({ cacheDir })).map((c) => c.name)).toEqual(['local']);
    const dup = await startIndexServer('- name: x\n  type: plugin\n  registry: r\n  repository: a/x\n- name: x\n  type: plugin\n  registry: r\n  repository: a/y\n');
    try {
      await expect(addIndex({ name: 'dup', url: `${dup.url}/index.yaml` }, opts())).rejects.toMatchObject({
        code: 'ERR_INVALID_INDEX',
        message: `unable to fetch index "dup" with URL "${dup.url}/index.yaml": invalid index "${dup.url}/index.yaml": duplicate entry found: x`,
      });
    } finally {
      await dup.close();
    }
  });

  it('uses the cache file in loadMergedIndex without fetching', async () => {
    const before = server.requests.length;
    const merged = await loadMergedIndex([{ name: 'local', url: url() }], { cacheDir, fetch: { allowPlainHttp: true } });
    expect(merged.entries.map((e) => e.name)).toEqual(['c']);
    expect(server.requests.length).toBe(before);
  });

  it('removes an index, and fails when its file is already gone', async () => {
    expect(await removeIndex('local', { cacheDir })).toEqual({ removed: true });
    await expect(access(cachePaths(cacheDir, 'local').index)).rejects.toThrow();
    expect(await listIndexes({ cacheDir })).toEqual([]);
    expect(await removeIndex('local', { cacheDir })).toEqual({ removed: false });
    await addIndex({ name: 'again', url: url() }, opts());
    await rm(cachePaths(cacheDir, 'again').index);
    await expect(removeIndex('again', { cacheDir })).rejects.toThrow(/an error occurred while removing index "again"/);
  });
});

describe('merged index', () => {
  it('later same-name entries replace earlier ones in place', () => {
    const m = mergeIndexes([
      { name: 'one', entries: [entry('a'), entry('b')] },
      { name: 'two', entries: [entry('c'), entry('a', 'y/a')] },
    ]);
    expect(m.entries.map((e) => e.name)).toEqual(['a', 'b', 'c']);
    expect(m.byName.get('a')!.repository).toBe('y/a');
    expect(m.sourceOf.get('a')).toBe('two');
  });

  it('uses the built-in index with no configured index, without network', async () => {
    const m = await loadMergedIndex([], {
      fetch: { httpGet: async () => { throw new Error('no network expected'); } },
    });
    expect(m.entries).toHaveLength(28);
    expect(m.byName.get('falco-rules')!.repository).toBe('falcosecurity/rules/falco-rules');
  });

  it('finds signature policies by index name only (spec §14)', async () => {
    const m = await loadMergedIndex([]);
    expect(signatureForIndexRef(m, 'falco-rules:3')?.cosign?.['certificate-identity-regexp']).toBe('https://github.com/falcosecurity/rules/');
    expect(signatureForIndexRef(m, 'json@sha256:abc')?.cosign?.['certificate-oidc-issuer']).toBe('https://token.actions.githubusercontent.com');
    expect(signatureForIndexRef(m, 'application-rules')).toBeUndefined();
    expect(signatureForIndexRef(m, 'ghcr.io/falcosecurity/rules/falco-rules:3')).toBeUndefined();
  });

  it('fetches uncached indexes every time, without saving them', async () => {
    server.body = V1;
    const dir = await mkdtemp(join(tmpdir(), 'rulesctl-nocache-'));
    const m = await loadMergedIndex([{ name: 'remote', url: `${server.url}/index.yaml` }], { cacheDir: dir, fetch: { allowPlainHttp: true } });
    expect(m.entries.map((e) => e.name).sort()).toEqual(['a', 'b']);
    await expect(access(join(dir, 'indexes', 'remote.yaml'))).rejects.toThrow();
    await expect(loadMergedIndex([{ name: 'gone', url: `${server.url}/missing` }], { cacheDir: dir, fetch: { allowPlainHttp: true } }))
      .rejects.toThrow(`unable to fetch index "gone" with URL "${server.url}/missing": cannot fetch index: 404`);
  });
});
