/**
 * Proves the integration harness itself with raw HTTP: the four shared registries, the token
 * issuer, the fault proxy, skopeo, private registries (spec ../shared/spec/test-registry.md).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { blobPath, getRegistries, startRegistry, uniqueRepo, type TestRegistry } from '../helpers/registries.js';
import { dockerRef, skopeoCopy, skopeoInspectRaw, skopeoListTags } from '../helpers/skopeo.js';
import { tmpDir } from '../helpers/tmp.js';

const regs = getRegistries();
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const basicAuth = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

async function getToken(reg: TestRegistry, scope: string, user?: { username: string; password: string }): Promise<{ status: number; token?: string }> {
  const url = `${reg.tokenIssuer!.realm}?service=${reg.tokenIssuer!.service}&scope=${encodeURIComponent(scope)}`;
  const res = await request(url, { headers: user ? { authorization: basicAuth(user.username, user.password) } : {} });
  const body = (await res.body.json()) as { token?: string };
  return { status: res.statusCode, ...(body.token ? { token: body.token } : {}) };
}

/** POST + monolithic PUT (spec §1); returns the PUT status (or the POST status when it was not 202). */
async function pushBlob(base: string, repo: string, data: Buffer, authorization?: string, dispatcher?: Dispatcher): Promise<number> {
  const headers: Record<string, string> = authorization ? { authorization } : {};
  const post = await request(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers, ...(dispatcher ? { dispatcher } : {}) });
  await post.body.dump();
  if (post.statusCode !== 202) return post.statusCode;
  const location = new URL(String(post.headers.location), base);
  location.searchParams.set('digest', sha256(data));
  const put = await request(location, {
    method: 'PUT', body: data, headers: { ...headers, 'content-type': 'application/octet-stream' }, ...(dispatcher ? { dispatcher } : {}),
  });
  await put.body.dump();
  return put.statusCode;
}

describe('shared registries', () => {
  it('open answers /v2/ with 200 and the distribution header', async () => {
    const res = await request(`${regs.open.url}/v2/`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(await res.body.text()).toBe('{}');
  });

  it('basic challenges with Basic and accepts alice', async () => {
    const anon = await request(`${regs.basic.url}/v2/`);
    await anon.body.dump();
    expect(anon.statusCode).toBe(401);
    expect(anon.headers['www-authenticate']).toBe('Basic realm="test-realm"');
    const wrong = await request(`${regs.basic.url}/v2/`, { headers: { authorization: basicAuth('alice', 'nope') } });
    await wrong.body.dump();
    expect(wrong.statusCode).toBe(401);
    const ok = await request(`${regs.basic.url}/v2/`, { headers: { authorization: basicAuth(regs.basic.username!, regs.basic.password!) } });
    await ok.body.dump();
    expect(ok.statusCode).toBe(200);
  });

  it('token challenges with Bearer; alice pushes, reader is refused, the issuer counts', async () => {
    const reg = regs.token;
    const anon = await request(`${reg.url}/v2/`);
    await anon.body.dump();
    expect(anon.statusCode).toBe(401);
    expect(anon.headers['www-authenticate']).toBe(`Bearer realm="${reg.tokenIssuer!.realm}",service="test-registry"`);

    const repo = uniqueRepo('harness/token');
    const alice = await getToken(reg, `repository:${repo}:pull,push`, { username: 'alice', password: 's3cret' });
    expect(alice.status).toBe(200);
    const [, claims] = alice.token!.split('.');
    expect(JSON.parse(Buffer.from(claims!, 'base64url').toString())).toMatchObject({
      aud: 'test-registry', iss: 'test-issuer', access: [{ type: 'repository', name: repo, actions: ['pull', 'push'] }],
    });
    expect(await pushBlob(reg.url, repo, Buffer.from('token blob'), `Bearer ${alice.token}`)).toBe(201);

    const reader = await getToken(reg, `repository:${repo}:pull,push`, reg.readOnly);
    const refused = await request(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${reader.token}` } });
    await refused.body.dump();
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toContain('error="insufficient_scope"');
    const head = await request(`${reg.url}/v2/${repo}/blobs/${sha256('token blob')}`, { method: 'HEAD', headers: { authorization: `Bearer ${reader.token}` } });
    expect(head.statusCode).toBe(200);

    expect((await getToken(reg, `repository:${repo}:pull`, { username: 'alice', password: 'bad' })).status).toBe(401);
    expect(await reg.tokenIssuer!.requestCount({ repository: repo })).toBe(3);
    expect(await reg.tokenIssuer!.requestCount({ repository: repo, user: 'reader' })).toBe(1);
  });

  it('tls serves HTTPS with the CA and fails without it', async () => {
    const ca = readFileSync(regs.tls.caFile!);
    const withCa = new Agent({ connect: { ca } });
    const ok = await request(`${regs.tls.url}/v2/`, { dispatcher: withCa });
    await ok.body.dump();
    expect(ok.statusCode).toBe(200);
    expect(regs.tls.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(existsSync(join(regs.tls.certDir!, 'ca.crt'))).toBe(true);
    const noCa = new Agent();
    await expect(request(`${regs.tls.url}/v2/`, { dispatcher: noCa })).rejects.toMatchObject({ code: expect.stringMatching(/CERT|SIGNATURE|ISSUER/) });
    await Promise.all([withCa.close(), noCa.close()]);
  });

  it('blobPath points at the stored blob, and the access log records requests', async () => {
    const repo = uniqueRepo('harness/blobpath');
    const data = Buffer.from(`blob for ${repo}`);
    expect(await pushBlob(regs.open.url, repo, data)).toBe(201);
    expect(readFileSync(blobPath(regs.open, sha256(data)))).toEqual(data);
    const log = await regs.open.accessLog();
    expect(log.filter((e) => e.method === 'PUT' && e.path.startsWith(`/v2/${repo}/blobs/uploads/`) && e.status === 201)).toHaveLength(1);
  });

  it('uniqueRepo gives distinct valid names', () => {
    const a = uniqueRepo('Harness/Some_Thing!!');
    const b = uniqueRepo('Harness/Some_Thing!!');
    expect(a).not.toBe(b);
    for (const n of [a, b]) expect(n).toMatch(/^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/);
  });
});

describe('fault proxy', () => {
  const proxies: FaultProxy[] = [];
  afterAll(async () => { await Promise.all(proxies.map((p) => p.close())); });

  it('serves a 429 rule once, then passes through; uploads stay behind the proxy', async () => {
    const proxy = await startFaultProxy({ upstream: regs.open.url });
    proxies.push(proxy);
    proxy.setRules([{ method: 'GET', path: /^\/v2\/$/, times: 1, kind: 'respond', status: 429, headers: { 'retry-after': '1' } }]);
    const first = await request(`${proxy.url}/v2/`);
    await first.body.dump();
    expect(first.statusCode).toBe(429);
    expect(first.headers['retry-after']).toBe('1');
    const second = await request(`${proxy.url}/v2/`);
    expect(second.statusCode).toBe(200);
    expect(await second.body.text()).toBe('{}');
    expect(proxy.requests.map((r) => [r.status, r.handledBy])).toEqual([[429, 'respond'], [200, 'forward']]);

    const repo = uniqueRepo('harness/proxy');
    expect(await pushBlob(proxy.url, repo, Buffer.from('via proxy'))).toBe(201);
    expect(proxy.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('redirects blobs to a second origin that needs no auth and records Authorization', async () => {
    const reg = regs.basic;
    const auth = basicAuth(reg.username!, reg.password!);
    const proxy = await startFaultProxy({ upstream: reg.url, upstreamCredentials: { username: reg.username!, password: reg.password! } });
    proxies.push(proxy);
    const repo = uniqueRepo('harness/redirect');
    const data = Buffer.from('redirected blob content');
    expect(await pushBlob(proxy.url, repo, data, auth)).toBe(201);
    proxy.setRules([{ method: 'GET', path: /\/blobs\/sha256:/, kind: 'redirect' }]);

    const res = await request(`${proxy.url}/v2/${repo}/blobs/${sha256(data)}`, { headers: { authorization: auth } });
    await res.body.dump();
    expect(res.statusCode).toBe(307);
    const location = String(res.headers.location);
    expect(location.startsWith(proxy.secondOrigin.url)).toBe(true);
    expect(proxy.secondOrigin.host).not.toBe(proxy.host);

    const withoutAuth = await request(location);
    expect(Buffer.from(await withoutAuth.body.arrayBuffer())).toEqual(data);
    const leaked = await request(location, { headers: { authorization: auth } });
    await leaked.body.dump();
    const seen = proxy.requests.filter((r) => r.origin === 'second');
    expect(seen.map((r) => [r.status, r.authorization !== undefined])).toEqual([[200, false], [200, true]]);
  });

  it('resets mid-body, appends bytes, lies about Content-Length and loops redirects', async () => {
    const proxy = await startFaultProxy({ upstream: regs.open.url });
    proxies.push(proxy);
    const repo = uniqueRepo('harness/faults');
    const data = Buffer.alloc(4096, 7);
    expect(await pushBlob(proxy.url, repo, data)).toBe(201);
    const blobUrl = `${proxy.url}/v2/${repo}/blobs/${sha256(data)}`;

    proxy.setRules([{ path: /\/blobs\//, times: 1, kind: 'reset', afterBytes: 100 }]);
    const cut = await request(blobUrl);
    expect(cut.statusCode).toBe(200);
    await expect(cut.body.arrayBuffer()).rejects.toThrow();

    proxy.setRules([{ path: /\/blobs\//, times: 1, kind: 'append', bytes: 'EXTRA' }]);
    const longer = await request(blobUrl);
    expect((await longer.body.arrayBuffer()).byteLength).toBe(4096 + 5);

    proxy.setRules([{ path: /\/blobs\//, times: 1, kind: 'content-length', value: 5000 }]);
    const lying = await request(blobUrl);
    expect(lying.headers['content-length']).toBe('5000');
    await expect(lying.body.arrayBuffer()).rejects.toThrow();

    proxy.setRules([{ path: /\/blobs\//, kind: 'redirect-loop' }]);
    const following = new Agent().compose(interceptors.redirect({ maxRedirections: 5 }));
    const looped = await request(blobUrl, { dispatcher: following });
    await looped.body.dump();
    expect(looped.statusCode).toBe(307);
    expect(proxy.requests.filter((r) => r.handledBy === 'redirect-loop')).toHaveLength(6);
    await following.close();

    proxy.reset();
    const clean = await request(blobUrl);
    expect(Buffer.from(await clean.body.arrayBuffer())).toEqual(data);
  });
});

describe('fault proxy, more', () => {
  it('re-originates to the https registry, streams chunked uploads and Range requests', async () => {
    const proxy = await startFaultProxy({ upstream: regs.tls.url, caFile: regs.tls.caFile! });
    try {
      const repo = uniqueRepo('harness/tls-proxy');
      const post = await request(`${proxy.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
      await post.body.dump();
      expect(String(post.headers.location).startsWith(`${proxy.url}/`)).toBe(true);
      const data = Buffer.from('0123456789abcdefghij');
      const patch = await request(String(post.headers.location), {
        method: 'PATCH', body: data.subarray(0, 10), headers: { 'content-type': 'application/octet-stream' },
      });
      await patch.body.dump();
      expect(patch.statusCode).toBe(202);
      const patch2 = await request(String(patch.headers.location), {
        method: 'PATCH', body: data.subarray(10), headers: { 'content-type': 'application/octet-stream' },
      });
      await patch2.body.dump();
      const done = new URL(String(patch2.headers.location));
      done.searchParams.set('digest', sha256(data));
      const put = await request(done, { method: 'PUT' });
      await put.body.dump();
      expect(put.statusCode).toBe(201);
      const range = await request(`${proxy.url}/v2/${repo}/blobs/${sha256(data)}`, { headers: { range: 'bytes=5-9' } });
      expect(range.statusCode).toBe(206);
      expect(await range.body.text()).toBe('56789');
    } finally {
      await proxy.close();
    }
  });

  it('stalls (delayed or forever), replaces bodies, and closes with a stalled request open', async () => {
    const proxy = await startFaultProxy({ upstream: regs.open.url });
    const client = new Agent({ headersTimeout: 300, bodyTimeout: 300 });
    try {
      proxy.setRules([
        { path: /^\/v2\/$/, times: 1, kind: 'stall' },
        { path: /^\/v2\/$/, times: 1, kind: 'stall', ms: 50 },
        { path: /^\/v2\/$/, times: 1, kind: 'replace', body: 'not json', headers: { 'Content-Type': 'text/plain' } },
      ]);
      await expect(request(`${proxy.url}/v2/`, { dispatcher: client })).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
      const delayed = await request(`${proxy.url}/v2/`, { dispatcher: client });
      expect(await delayed.body.text()).toBe('{}');
      const replaced = await request(`${proxy.url}/v2/`, { dispatcher: client });
      expect(replaced.headers['content-type']).toBe('text/plain');
      expect(replaced.headers['docker-distribution-api-version']).toBe('registry/2.0');
      expect(await replaced.body.text()).toBe('not json');
      proxy.setRules([{ path: /^\/v2\/$/, kind: 'stall' }]);
      const hanging = request(`${proxy.url}/v2/`).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 50));
      await proxy.close();
      expect(await hanging).toBeInstanceOf(Error);
    } finally {
      await client.close();
    }
  });

  it('lets the second origin fetch from the token registry with its own credentials', async () => {
    const reg = regs.token;
    const proxy = await startFaultProxy({ upstream: reg.url, host: '127.0.0.2', upstreamCredentials: { username: 'alice', password: 's3cret' } });
    try {
      expect(proxy.host.startsWith('127.0.0.2:')).toBe(true);
      expect(proxy.secondOrigin.host.startsWith('127.0.0.1:')).toBe(true);
      const repo = uniqueRepo('harness/token-redirect');
      const data = Buffer.from('behind a token registry');
      const alice = await getToken(reg, `repository:${repo}:pull,push`, { username: 'alice', password: 's3cret' });
      expect(await pushBlob(proxy.url, repo, data, `Bearer ${alice.token}`)).toBe(201);
      proxy.setRules([{ method: 'GET', path: /\/blobs\//, kind: 'redirect' }]);
      const res = await request(`${proxy.url}/v2/${repo}/blobs/${sha256(data)}`, { headers: { authorization: `Bearer ${alice.token}` } });
      await res.body.dump();
      const fromStorage = await request(String(res.headers.location));
      expect(Buffer.from(await fromStorage.body.arrayBuffer())).toEqual(data);
    } finally {
      await proxy.close();
    }
  });
});

describe('skopeo', () => {
  /** A Falco-rules-like OCI layout made by hand (spec §1). */
  async function makeLayout(): Promise<{ dir: string; manifest: Buffer }> {
    const dir = tmpDir('layout');
    const layer = Buffer.from('- rule: test\n  desc: harness\n');
    const config = Buffer.from('{}');
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.cncf.falco.rulesfile.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz', digest: sha256(layer), size: layer.length,
        annotations: { 'org.opencontainers.image.title': 'test_rules.yaml' } }],
    }));
    await mkdir(join(dir, 'blobs/sha256'), { recursive: true });
    for (const b of [layer, config, manifest]) await writeFile(join(dir, 'blobs/sha256', sha256(b).slice(7)), b);
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{
      mediaType: OCI_MANIFEST, digest: sha256(manifest), size: manifest.length,
      annotations: { 'org.opencontainers.image.ref.name': '1.0.0' } }] }));
    return { dir, manifest };
  }

  it.each(['open', 'token', 'tls'] as const)('copies a hand-made OCI layout into %s and reads the manifest back byte for byte', async (name) => {
    const reg = regs[name];
    const { dir, manifest } = await makeLayout();
    const repo = uniqueRepo(`harness/skopeo-${name}`);
    await skopeoCopy(`oci:${dir}:1.0.0`, dockerRef(reg, repo, '1.0.0'), { dest: reg });
    expect(await skopeoInspectRaw(reg, repo, '1.0.0')).toEqual(manifest);
    expect(await skopeoInspectRaw(reg, repo, sha256(manifest))).toEqual(manifest);
    expect(await skopeoListTags(reg, repo)).toEqual(['1.0.0']);
    const back = tmpDir('layout-back');
    await skopeoCopy(dockerRef(reg, repo, '1.0.0'), `oci:${back}:1.0.0`, { src: reg, ...(reg.readOnly ? { srcCreds: reg.readOnly } : {}) });
    expect(readFileSync(join(back, 'blobs/sha256', sha256(manifest).slice(7)))).toEqual(manifest);
  });
});

describe('private registries', () => {
  it('starts a pull-through proxy, counts upstream requests, survives a restart', async () => {
    const proxyReg = await startRegistry({ name: 'proxy', proxy: { remoteurl: regs.open.url } });
    try {
      const repo = uniqueRepo('harness/pull-through');
      const data = Buffer.from('cached blob');
      expect(await pushBlob(regs.open.url, repo, data)).toBe(201);
      const first = await request(`${proxyReg.url}/v2/${repo}/blobs/${sha256(data)}`);
      expect(Buffer.from(await first.body.arrayBuffer())).toEqual(data);
      const upstreamGets = (await regs.open.accessLog()).filter((e) => e.method === 'GET' && e.path === `/v2/${repo}/blobs/${sha256(data)}`);
      expect(upstreamGets.length).toBeGreaterThanOrEqual(1);
      expect((await proxyReg.accessLog()).filter((e) => e.path.includes(repo))).toHaveLength(1);

      await proxyReg.restart();
      expect(proxyReg.exited()).toBeUndefined();
      const again = await request(`${proxyReg.url}/v2/${repo}/blobs/${sha256(data)}`);
      expect(Buffer.from(await again.body.arrayBuffer())).toEqual(data);
    } finally {
      await proxyReg.stop();
    }
    expect(proxyReg.exited()).toBeDefined();
    expect(existsSync(proxyReg.dir)).toBe(false);
  });

  it('starts a private token registry with its own issuer settings', async () => {
    const reg = await startRegistry({ name: 'own-token', auth: 'token', tokenIssuerOptions: { expiresIn: 7 } });
    try {
      const repo = uniqueRepo('harness/own-token');
      const res = await request(`${reg.tokenIssuer!.realm}?service=test-registry&scope=repository:${repo}:pull,push`,
        { headers: { authorization: basicAuth('alice', 's3cret') } });
      const body = (await res.body.json()) as { token: string; expires_in: number };
      expect(body.expires_in).toBe(7);
      expect(await pushBlob(reg.url, repo, Buffer.from('own issuer'), `Bearer ${body.token}`)).toBe(201);
      expect(await reg.tokenIssuer!.requestCount()).toBe(1);
      expect(reg.tokenIssuer!.url).not.toBe(regs.token.tokenIssuer!.url);
    } finally {
      await reg.stop();
    }
  });

  it('fails loudly when a registry cannot start', async () => {
    const upstream = await startRegistry({ name: 'gone' });
    await upstream.stop();
    await expect(startRegistry({ name: 'bad-proxy', proxy: { remoteurl: upstream.url }, readyTimeoutMs: 5000 }))
      .rejects.toThrow(/did not become ready \(exit code 2\)/);
    // The shared open registry answers on that port, but it is not the process we started.
    await expect(startRegistry({ name: 'taken', port: Number(regs.open.host.split(':')[1]) })).rejects.toThrow(/in use/);
  });
});
