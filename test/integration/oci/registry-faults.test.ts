/**
 * What a real registry cannot produce, through the fault proxy in front of one: throttling, 5xx,
 * resets mid-blob, stalls, cross-origin redirects, lying bodies; and on-disk corruption.
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { descriptorFor, type Descriptor } from '../../../src/oci/descriptor.js';
import { memoryLogger } from '../../../src/log.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from '../../../src/oci/registry/client.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { blobPath, getRegistries, uniqueRepo, type TestRegistry } from '../../helpers/registries.js';

const regs = getRegistries();
const closers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(closers.map((c) => c.close()));
});

async function proxyFor(reg: TestRegistry): Promise<FaultProxy> {
  const proxy = await startFaultProxy({
    upstream: reg.url,
    ...(reg.username ? { upstreamCredentials: { username: reg.username, password: reg.password! } } : {}),
  });
  closers.push(proxy);
  return proxy;
}

function client(host: string, user?: { username: string; password: string }, extra: Partial<RegistryClientOptions> = {}): RegistryClient {
  const c = createRegistryClient({
    plainHttp: true,
    credentials: async (h) => (user && h === host ? { kind: 'basic', ...user } : undefined),
    retry: { baseMs: 5, maxMs: 50 },
    ...extra,
  });
  closers.push(c);
  return c;
}

/** Pushes a layer and a manifest tagged `v1` directly (no proxy); returns their descriptors. */
async function seed(reg: TestRegistry, repository: string, size = 200_000): Promise<{ layer: Buffer; layerDesc: Descriptor; manifestDesc: Descriptor }> {
  const c = client(reg.host, reg.username ? { username: reg.username, password: reg.password! } : undefined);
  const repo = c.repository({ registry: reg.host, repository });
  const layer = randomBytes(size);
  const layerDesc = descriptorFor('application/octet-stream', layer);
  const config = Buffer.from('{}');
  const configDesc = descriptorFor(MediaTypes.ociEmpty, config);
  await repo.push(layerDesc, layer);
  await repo.push(configDesc, config);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [layerDesc] }));
  const manifestDesc = descriptorFor(MediaTypes.ociManifest, manifest);
  await repo.pushManifest(manifestDesc, manifest, 'v1');
  return { layer, layerDesc, manifestDesc };
}

describe('retries', () => {
  it('waits for Retry-After on 429, then succeeds', async () => {
    const repository = uniqueRepo('faults/429');
    const { manifestDesc } = await seed(regs.open, repository);
    const proxy = await proxyFor(regs.open);
    proxy.setRules([{ method: 'GET', path: /\/manifests\/v1$/, times: 1, kind: 'respond', status: 429, headers: { 'retry-after': '1' }, body: { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] } }]);
    const logger = memoryLogger();
    const repo = client(proxy.host, undefined, { logger }).repository({ registry: proxy.host, repository });
    expect((await repo.fetchManifest('v1')).descriptor.digest).toBe(manifestDesc.digest);
    expect(logger.records.filter((r) => r.msg === 'retrying registry request').map((r) => r.fields)).toEqual([{ method: 'GET', why: '429', waitMs: 1000 }]);
    expect(proxy.requests.filter((r) => r.path.endsWith('/manifests/v1')).map((r) => r.status)).toEqual([429, 200]);
  });

  it('fails at once when Retry-After is beyond the cap, with the rate-limit hint', async () => {
    const repository = uniqueRepo('faults/429cap');
    await seed(regs.open, repository);
    const proxy = await proxyFor(regs.open);
    proxy.setRules([{ method: 'HEAD', path: /\/manifests\/v1$/, kind: 'respond', status: 429, headers: { 'retry-after': '3600' } }]);
    const repo = client(proxy.host, undefined, { retry: { baseMs: 5, maxMs: 50, maxRetryAfterMs: 2000 } }).repository({ registry: proxy.host, repository });
    await expect(repo.resolve('v1')).rejects.toMatchObject({ code: 'ERR_REGISTRY', hint: expect.stringContaining('TOOMANYREQUESTS'), details: { status: 429, retryAfterMs: 3_600_000 } });
    expect(proxy.requests).toHaveLength(1);
  });

  it('retries 503 with backoff, bounded', async () => {
    const repository = uniqueRepo('faults/503');
    const { layer, layerDesc } = await seed(regs.open, repository);
    const proxy = await proxyFor(regs.open);
    proxy.setRules([{ method: 'GET', path: /\/blobs\//, times: 2, kind: 'respond', status: 503, body: '<html>busy</html>' }]);
    const repo = client(proxy.host).repository({ registry: proxy.host, repository });
    expect((await buffer(await repo.fetch(layerDesc))).equals(layer)).toBe(true);
    expect(proxy.requests.map((r) => r.status)).toEqual([503, 503, 200]);

    proxy.reset();
    proxy.setRules([{ method: 'GET', path: /\/blobs\//, kind: 'respond', status: 503, body: '<html>busy</html>' }]);
    await expect(repo.fetch(layerDesc)).rejects.toMatchObject({ code: 'ERR_REGISTRY', details: { status: 503, method: 'GET' } });
    expect(proxy.requests).toHaveLength(4);
  });

  it('resumes a blob download cut mid-body with Range, continuing the hash', async () => {
    const repository = uniqueRepo('faults/reset');
    const { layer, layerDesc } = await seed(regs.open, repository);
    const proxy = await proxyFor(regs.open);
    proxy.setRules([{ method: 'GET', path: /\/blobs\//, times: 1, kind: 'reset', afterBytes: 50_000 }]);
    const repo = client(proxy.host).repository({ registry: proxy.host, repository });
    expect((await buffer(await repo.fetch(layerDesc))).equals(layer)).toBe(true);
    const gets = proxy.requests.filter((r) => r.method === 'GET');
    expect(gets).toHaveLength(2);
    expect(gets[0]!.headers['range']).toBeUndefined();
    expect(gets[1]!.headers['range']).toMatch(/^bytes=[1-9]\d*-$/);
    expect(gets[1]!.status).toBe(206);
  });

  it('does not replay a streamed upload; a buffer upload is retried', async () => {
    const repository = uniqueRepo('faults/put');
    const proxy = await proxyFor(regs.open);
    const repo = client(proxy.host).repository({ registry: proxy.host, repository });
    const data = randomBytes(10_000);
    const d = descriptorFor('application/octet-stream', data);
    proxy.setRules([{ method: 'PUT', path: /\/blobs\/uploads\//, times: 1, kind: 'respond', status: 503 }]);
    await expect(repo.push(d, Readable.from([data]))).rejects.toMatchObject({ code: 'ERR_REGISTRY', message: expect.stringContaining('cannot be replayed') });
    proxy.setRules([{ method: 'PUT', path: /\/blobs\/uploads\//, times: 1, kind: 'respond', status: 503 }]);
    await repo.push(d, data);
    expect(await repo.exists(d)).toBe(true);
  });

  it('recovers a chunked upload whose PATCH connection was reset', async () => {
    const repository = uniqueRepo('faults/patch');
    const proxy = await proxyFor(regs.open);
    const repo = client(proxy.host, undefined, { chunkSize: 4096 }).repository({ registry: proxy.host, repository });
    const data = randomBytes(20_000);
    const d = descriptorFor('application/octet-stream', data);
    proxy.setRules([{ method: 'PATCH', path: /\/blobs\/uploads\//, times: 1, kind: 'reset' }]);
    await repo.push(d, Readable.from([data]));
    expect((await buffer(await repo.fetch(d))).equals(data)).toBe(true);
    expect(proxy.requests.some((r) => r.method === 'GET' && r.path.includes('/blobs/uploads/'))).toBe(true);
  });
  it('never sends chunks smaller than OCI-Chunk-Min-Length', async () => {
    const repository = uniqueRepo('faults/chunkmin');
    const proxy = await proxyFor(regs.open);
    proxy.setRules([{ method: 'POST', path: /\/blobs\/uploads\/$/, kind: 'replace', body: '', headers: { 'oci-chunk-min-length': '8192' } }]);
    const repo = client(proxy.host, undefined, { chunkSize: 1024 }).repository({ registry: proxy.host, repository });
    const data = randomBytes(20_000);
    const d = descriptorFor('application/octet-stream', data);
    await repo.push(d, Readable.from([data]));
    expect((await buffer(await repo.fetch(d))).equals(data)).toBe(true);
    const ranges = proxy.requests.filter((r) => r.method === 'PATCH').map((r) => r.headers['content-range']);
    expect(ranges).toEqual(['0-8191', '8192-16383', '16384-19999']);
  });
});

describe('redirects', () => {
  it('follows a blob redirect to another origin without Authorization', async () => {
    const reg = regs.basic;
    const repository = uniqueRepo('faults/redirect');
    const { layer, layerDesc } = await seed(reg, repository);
    const proxy = await proxyFor(reg);
    proxy.setRules([{ method: 'GET', path: /\/blobs\/sha256:/, kind: 'redirect' }]);
    const repo = client(proxy.host, { username: reg.username!, password: reg.password! }).repository({ registry: proxy.host, repository });
    expect(await repo.exists(layerDesc)).toBe(true); // learns the Basic scheme, so the GET carries credentials
    expect((await buffer(await repo.fetch(layerDesc))).equals(layer)).toBe(true);
    const second = proxy.requests.filter((r) => r.origin === 'second');
    expect(second).toHaveLength(1);
    expect(second[0]!.authorization).toBeUndefined();
    const redirected = proxy.requests.filter((r) => r.origin === 'proxy' && r.status === 307);
    expect(redirected).toHaveLength(1);
    expect(redirected[0]!.authorization).toMatch(/^Basic /);
  });

  it('never answers a 401 from the redirected origin with registry credentials', async () => {
    const reg = regs.basic;
    const repository = uniqueRepo('faults/redirect401');
    const { layerDesc } = await seed(reg, repository);
    const proxy = await proxyFor(reg);
    proxy.setRules([
      { method: 'GET', path: /\/blobs\/sha256:/, kind: 'redirect' },
      { origin: 'second', path: /.*/, kind: 'respond', status: 401, headers: { 'www-authenticate': 'Basic realm="evil"' } },
    ]);
    const repo = client(proxy.host, { username: reg.username!, password: reg.password! }).repository({ registry: proxy.host, repository });
    expect(await repo.exists(layerDesc)).toBe(true);
    await expect(repo.fetch(layerDesc)).rejects.toMatchObject({ code: 'ERR_UNAUTHORIZED', details: { redirectedTo: expect.stringContaining(proxy.secondOrigin.host) } });
    const second = proxy.requests.filter((r) => r.origin === 'second');
    expect(second).toHaveLength(1);
    expect(second[0]!.authorization).toBeUndefined();
  });

  it('checks existence with a GET when the storage host refuses HEAD', async () => {
    const repository = uniqueRepo('faults/headstorage');
    const { layerDesc } = await seed(regs.open, repository, 1000);
    const proxy = await proxyFor(regs.open);
    proxy.setRules([
      { path: /\/blobs\/sha256:/, kind: 'redirect' },
      { origin: 'second', method: 'HEAD', path: /.*/, kind: 'respond', status: 403 },
    ]);
    const repo = client(proxy.host).repository({ registry: proxy.host, repository });
    expect(await repo.exists(layerDesc)).toBe(true);
    const second = proxy.requests.filter((r) => r.origin === 'second');
    expect(second.map((r) => r.method)).toEqual(['HEAD', 'GET']);
    expect(second[0]!.status).toBe(403);
  });

  it('stops a redirect loop', async () => {
    const repository = uniqueRepo('faults/loop');
    const { layerDesc } = await seed(regs.open, repository);
    const proxy = await proxyFor(regs.open);
    proxy.setRules([{ path: /\/blobs\//, kind: 'redirect-loop' }]);
    const repo = client(proxy.host).repository({ registry: proxy.host, repository });
    await expect(repo.fetch(layerDesc)).rejects.toMatchObject({ code: 'ERR_TOO_MANY_REDIRECTS' });
    expect(proxy.requests).toHaveLength(11);
  });
});

describe('bad content and stalls', () => {
  it('a blob corrupted on the registry disk fails with ERR_DIGEST_MISMATCH', async () => {
    const reg = regs.open;
    const repository = uniqueRepo('faults/corrupt');
    const { layerDesc } = await seed(reg, repository, 5000);
    const fh = await open(blobPath(reg, layerDesc.digest), 'r+');
    await fh.write(Buffer.from('CORRUPTED'), 0, 9, 100);
    await fh.close();
    const repo = client(reg.host).repository({ registry: reg.host, repository });
    const stream = await repo.fetch(layerDesc);
    await expect(buffer(stream)).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH', details: { expected: layerDesc.digest } });
  });

  it('extra bytes and a manifest that differs from its digest are errors', async () => {
    const repository = uniqueRepo('faults/extra');
    const { layerDesc } = await seed(regs.open, repository, 5000);
    const proxy = await proxyFor(regs.open);
    const repo = client(proxy.host).repository({ registry: proxy.host, repository });
    proxy.setRules([{ method: 'GET', path: /\/blobs\//, times: 1, kind: 'append', bytes: 'EXTRA' }]);
    await expect(repo.fetch(layerDesc).then((s) => buffer(s))).rejects.toMatchObject({ code: 'ERR_SIZE_MISMATCH' });
    proxy.setRules([{ method: 'GET', path: /\/manifests\/v1$/, times: 1, kind: 'replace', body: JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: layerDesc, layers: [] }) }]);
    await expect(repo.fetchManifest('v1')).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
  });

  it('a stalled response ends in ERR_TIMEOUT', async () => {
    const repository = uniqueRepo('faults/stall');
    await seed(regs.open, repository, 100);
    const proxy = await proxyFor(regs.open);
    proxy.setRules([{ method: 'HEAD', path: /\/manifests\//, kind: 'stall' }]);
    const repo = client(proxy.host, undefined, { headersTimeoutMs: 300 }).repository({ registry: proxy.host, repository });
    await expect(repo.resolve('v1')).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
  });

  it('an abort signal stops a request', async () => {
    const repository = uniqueRepo('faults/abort');
    await seed(regs.open, repository, 100);
    const proxy = await proxyFor(regs.open);
    proxy.setRules([{ method: 'HEAD', path: /\/manifests\//, kind: 'stall' }]);
    const repo = client(proxy.host).repository({ registry: proxy.host, repository });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await expect(repo.resolve('v1', { signal: controller.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await expect(repo.resolve('v1', { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
  });
});
