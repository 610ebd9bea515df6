/**
 * Issue 8, Faults, through the library: `pullArtifact` (save and --extract) from the real registry
 * behind the fault proxy. Every fault ends in the right file after bounded retries, or in a clear
 * error code; in both cases the destination directory holds exactly the verified file or nothing
 * (no temp, staging or partial entry).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullArtifact } from '../../../src/artifact/pull.js';
import { createRegistryClient, type RegistryClient } from '../../../src/oci/registry/client.js';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../../helpers/fault-proxy.js';
import { PLATFORM, publish, publisher, sha256, tree } from '../../helpers/proof/proof.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { tmpDir } from '../../helpers/tmp.js';

const reg = getRegistries().open;
const pub = publisher();
let proxy: FaultProxy;
let client: RegistryClient;
const repository = uniqueRepo('proof/faults-pull');
// ~150 KB of layer: big enough to be cut mid-body, small enough to be fast.
const content = `# ${randomBytes(110_000).toString('base64')}\n- list: proof_faults\n  items: []\n`;
let layerPath = '';
let title = '';
let manifestPath = '';

beforeAll(async () => {
  const digest = await publish(pub.repository({ registry: reg.host, repository }), { name: 'proof-faults', version: '1.0.0', content });
  proxy = await startFaultProxy({ upstream: reg.url });
  client = createRegistryClient({ plainHttp: true, retry: { baseMs: 5, maxMs: 40 }, headersTimeoutMs: 400, bodyTimeoutMs: 400 });
  const m = await client.repository({ registry: reg.host, repository }).fetchManifest('1.0.0');
  const manifest = JSON.parse(m.bytes.toString()) as { layers: { digest: string; annotations: Record<string, string> }[] };
  title = manifest.layers[0]!.annotations['org.opencontainers.image.title']!;
  layerPath = `/v2/${repository}/blobs/${manifest.layers[0]!.digest}`;
  manifestPath = `/v2/${repository}/manifests/`;
  expect(digest).toBe(m.descriptor.digest);
});
afterAll(async () => {
  await proxy?.close();
  await client?.close();
  await pub.close();
});

type Mode = 'save' | 'extract';

async function pullThrough(rules: FaultRule[], mode: Mode): Promise<{ dest: string; err?: { code?: string; message: string } }> {
  proxy.reset();
  proxy.setRules(rules);
  const dest = tmpDir('proof-pull');
  try {
    await pullArtifact(client.repository({ registry: proxy.host, repository }), '1.0.0', { platform: PLATFORM, destDir: dest, extract: mode === 'extract' });
    return { dest };
  } catch (err) {
    return { dest, err: err as { code?: string; message: string } };
  }
}

/** The destination holds the one verified file, whole. */
function expectWhole(dest: string, mode: Mode): void {
  const name = mode === 'save' ? title : 'proof_faults.yaml';
  expect(tree(dest)).toEqual([name]);
  if (mode === 'extract') expect(sha256(readFileSync(join(dest, name)))).toBe(sha256(content));
}

const layer = (): RegExp => new RegExp(`^${layerPath.replace(/[/.]/g, '\\$&')}$`);
const manifests = (): RegExp => new RegExp(`^${manifestPath.replace(/[/.]/g, '\\$&')}`);
const layerGets = (): number => proxy.requests.filter((r) => r.method === 'GET' && r.path === layerPath).length;

describe.each<Mode>(['save', 'extract'])('pullArtifact (%s) under faults', (mode) => {
  it('connection reset mid-manifest: retried, then the whole file', async () => {
    const { dest, err } = await pullThrough([{ method: 'GET', path: manifests(), times: 1, kind: 'reset', afterBytes: 60 }], mode);
    expect(err).toBeUndefined();
    expectWhole(dest, mode);
    expect(proxy.requests.filter((r) => r.method === 'GET' && r.path.startsWith(manifestPath)).length).toBe(2);
  });

  it('connection reset mid-manifest every time: ERR_NETWORK after bounded tries, nothing written', async () => {
    const { dest, err } = await pullThrough([{ method: 'GET', path: manifests(), kind: 'reset', afterBytes: 60 }], mode);
    expect(err).toMatchObject({ code: 'ERR_NETWORK' });
    expect(tree(dest)).toEqual([]);
    expect(proxy.requests.filter((r) => r.path.startsWith(manifestPath)).length).toBe(4);
  });

  it('connection reset mid-blob, on every response: resumed with Range from where it was cut, then the whole file', async () => {
    const { dest, err } = await pullThrough([{ method: 'GET', path: layer(), kind: 'reset', afterBytes: 30_000 }], mode);
    expect(err).toBeUndefined();
    expectWhole(dest, mode);
    const gets = proxy.requests.filter((r) => r.method === 'GET' && r.path === layerPath);
    // Each response makes 30 kB of progress: ceil(size / 30 kB) responses, every one after the first a Range request.
    expect(gets.length).toBeGreaterThanOrEqual(2);
    expect(gets.length).toBeLessThanOrEqual(6);
    expect(gets.slice(1).every((r) => /^bytes=[1-9]\d*-$/.test(String(r.headers.range)))).toBe(true);
  });

  it('connection reset before any body byte, every time: ERR_NETWORK after bounded tries, nothing written', async () => {
    const { dest, err } = await pullThrough([{ method: 'GET', path: layer(), kind: 'reset', afterBytes: 0 }], mode);
    expect(err).toMatchObject({ code: 'ERR_NETWORK' });
    expect(tree(dest)).toEqual([]);
    expect(layerGets()).toBeGreaterThanOrEqual(2);
    expect(layerGets()).toBeLessThanOrEqual(4);
  });

  it('429 with Retry-After: waits, then the whole file', async () => {
    const { dest, err } = await pullThrough([{ method: 'GET', path: layer(), times: 1, kind: 'respond', status: 429, headers: { 'retry-after': '1' } }], mode);
    expect(err).toBeUndefined();
    expectWhole(dest, mode);
    expect(proxy.requests.filter((r) => r.path === layerPath).map((r) => r.status)).toEqual([429, 200]);
  });

  it('429 without Retry-After: backoff, then the whole file; persistent 429: ERR_REGISTRY 429', async () => {
    let r = await pullThrough([{ method: 'GET', path: layer(), times: 2, kind: 'respond', status: 429 }], mode);
    expect(r.err).toBeUndefined();
    expectWhole(r.dest, mode);
    r = await pullThrough([{ method: 'GET', path: layer(), kind: 'respond', status: 429, body: { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] } }], mode);
    expect(r.err).toMatchObject({ code: 'ERR_REGISTRY', details: { status: 429 } });
    expect(tree(r.dest)).toEqual([]);
    expect(layerGets()).toBe(4);
  });

  it('a 500/502/503 burst: retried, then the whole file; a longer burst: ERR_REGISTRY, nothing written', async () => {
    const burst = (statuses: number[]): FaultRule[] => statuses.map((status) => ({ method: 'GET', path: layer(), times: 1, kind: 'respond', status }));
    let r = await pullThrough(burst([500, 502, 503]), mode);
    expect(r.err).toBeUndefined();
    expectWhole(r.dest, mode);
    expect(proxy.requests.filter((x) => x.path === layerPath).map((x) => x.status)).toEqual([500, 502, 503, 200]);
    r = await pullThrough(burst([503, 502, 500, 503]), mode);
    expect(r.err).toMatchObject({ code: 'ERR_REGISTRY', details: { status: 503 } });
    expect(tree(r.dest)).toEqual([]);
    expect(layerGets()).toBe(4);
  });

  it('a stalled response (headers, then body): ERR_TIMEOUT, nothing written', async () => {
    let r = await pullThrough([{ method: 'GET', path: layer(), kind: 'stall' }], mode);
    expect(r.err).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(tree(r.dest)).toEqual([]);
    r = await pullThrough([{ method: 'GET', path: layer(), kind: 'stall', afterBytes: 20_000 }], mode);
    expect(r.err).toMatchObject({ code: 'ERR_TIMEOUT', message: expect.stringContaining('UND_ERR_BODY_TIMEOUT') });
    expect(tree(r.dest)).toEqual([]);
  });

  it('a Content-Length that disagrees with the descriptor: ERR_SIZE_MISMATCH before any byte is kept', async () => {
    const r = await pullThrough([{ method: 'GET', path: layer(), kind: 'content-length', value: 10_000_000 }], mode);
    expect(r.err).toMatchObject({ code: 'ERR_SIZE_MISMATCH', details: { actual: 10_000_000 } });
    expect(tree(r.dest)).toEqual([]);
  });

  it('a Content-Length smaller than the blob: ERR_SIZE_MISMATCH, never a short file', async () => {
    const r = await pullThrough([{ method: 'GET', path: layer(), kind: 'content-length', value: 1000 }], mode);
    expect(r.err).toMatchObject({ code: 'ERR_SIZE_MISMATCH' });
    expect(tree(r.dest)).toEqual([]);
  });

  it('a body longer than the descriptor: ERR_SIZE_MISMATCH, nothing written', async () => {
    const r = await pullThrough([{ method: 'GET', path: layer(), kind: 'append', bytes: 'EXTRA BYTES' }], mode);
    expect(r.err).toMatchObject({ code: 'ERR_SIZE_MISMATCH' });
    expect(tree(r.dest)).toEqual([]);
  });

  it('a redirect loop on the blob: ERR_TOO_MANY_REDIRECTS, nothing written', async () => {
    const r = await pullThrough([{ method: 'GET', path: layer(), kind: 'redirect-loop' }], mode);
    expect(r.err).toMatchObject({ code: 'ERR_TOO_MANY_REDIRECTS' });
    expect(tree(r.dest)).toEqual([]);
  });
});
