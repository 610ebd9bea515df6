import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchIndexText, selectBackend } from '../../../src/index/backends.js';
import { startIndexServer, type IndexServer } from './_server.js';

const BODY = '- name: a\n  type: plugin\n  registry: r\n  repository: x/a\n';
let server: IndexServer;
beforeAll(async () => { server = await startIndexServer(BODY); });
afterAll(async () => { await server.close(); });

describe('selectBackend', () => {
  it.each([
    ['https://h/i.yaml', undefined, 'http'], ['http://h/i.yaml', undefined, 'http'], ['file:///i.yaml', undefined, 'file'],
    ['https://h/i.yaml', 'FILE', 'file'], ['file:///i.yaml', 'Https', 'http'], ['HTTPS://h/i.yaml', '', 'http'],
  ])('%s with backend %s → %s', (url, backend, expected) => {
    expect(selectBackend(url, backend)).toBe(expected);
  });
  it.each([
    ['gs://bucket/i.yaml', undefined, 'unsupported index backend type: gs'],
    ['https://h/i.yaml', 'gcs', 'unsupported index backend type: gcs'],
    ['s3://b/k', undefined, 'unsupported index backend type: s3'],
    ['https://h/i.yaml', 'ftp', 'unsupported index backend type: ftp'],
  ])('%s with backend %s fails', (url, backend, message) => {
    expect(() => selectBackend(url, backend)).toThrow(message);
  });
});

describe('fetchIndexText', () => {
  it('refuses plain http unless allowed', async () => {
    await expect(fetchIndexText({ name: 'n', url: `${server.url}/index.yaml` })).rejects.toMatchObject({ code: 'ERR_PLAIN_HTTP_REFUSED' });
  });

  it('fetches over http with undici, keeps the ETag, and honours 304', async () => {
    const first = await fetchIndexText({ name: 'n', url: `${server.url}/index.yaml` }, { allowPlainHttp: true });
    expect(first).toEqual({ notModified: false, text: BODY, validators: { etag: '"v1"' } });
    const second = await fetchIndexText({ name: 'n', url: `${server.url}/index.yaml` }, { allowPlainHttp: true, validators: first.validators });
    expect(second.notModified).toBe(true);
    expect(server.requests.at(-1)!.headers['if-none-match']).toBe('"v1"');
  });

  it('follows redirects and reports status errors as falcoctl does', async () => {
    const moved = await fetchIndexText({ name: 'n', url: `${server.url}/moved` }, { allowPlainHttp: true });
    expect(moved.notModified === false && moved.text).toBe(BODY);
    await expect(fetchIndexText({ name: 'n', url: `${server.url}/missing` }, { allowPlainHttp: true })).rejects.toThrow('cannot fetch index: 404');
  });

  it('never follows an https index down to plain http, even with plain HTTP allowed (another index may be http://)', async () => {
    const httpGet = async (url: string) => url.startsWith('https:') || url.endsWith('/old.yaml')
      ? { status: 301, headers: { location: 'http://example.invalid/i.yaml' }, text: async () => '', dump: async () => {} }
      : { status: 200, headers: {}, text: async () => BODY, dump: async () => {} };
    await expect(fetchIndexText({ name: 'n', url: 'https://example.invalid/i.yaml' }, { httpGet })).rejects.toMatchObject({ code: 'ERR_PLAIN_HTTP_REFUSED' });
    await expect(fetchIndexText({ name: 'n', url: 'https://example.invalid/i.yaml' }, { httpGet, allowPlainHttp: true })).rejects.toMatchObject({ code: 'ERR_PLAIN_HTTP_REFUSED' });
    // An http:// index, allowed, may be redirected within http.
    expect(await fetchIndexText({ name: 'n', url: 'http://example.invalid/old.yaml' }, { httpGet, allowPlainHttp: true })).toMatchObject({ text: BODY });
  });

  it('reads file:///abs/path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rulesctl-idx-'));
    const path = join(dir, 'index.yaml');
    await writeFile(path, BODY);
    const r = await fetchIndexText({ name: 'n', url: pathToFileURL(path).href });
    expect(r).toEqual({ notModified: false, text: BODY, validators: {} });
    await expect(fetchIndexText({ name: 'n', url: pathToFileURL(join(dir, 'nope.yaml')).href })).rejects.toThrow(/ENOENT/);
  });

  it('uses an injected HttpGet', async () => {
    const seen: string[] = [];
    const r = await fetchIndexText({ name: 'n', url: 'https://example.invalid/i.yaml' }, {
      httpGet: async (url) => {
        seen.push(url);
        return { status: 200, headers: { 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }, text: async () => BODY, dump: async () => {} };
      },
    });
    expect(seen).toEqual(['https://example.invalid/i.yaml']);
    const headers: Record<string, string>[] = [];
    const notModified = await fetchIndexText({ name: 'n', url: 'https://example.invalid/i.yaml' }, {
      validators: { lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' },
      httpGet: async (_url, o) => { headers.push(o.headers); return { status: 304, headers: {}, text: async () => '', dump: async () => {} }; },
    });
    expect(notModified).toEqual({ notModified: true, validators: { lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' } });
    expect(headers).toEqual([{ 'if-modified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' }]);
    expect(r).toEqual({ notModified: false, text: BODY, validators: { lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' } });
  });
});
