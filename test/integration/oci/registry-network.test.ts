/**
 * Transport options against real servers: TLS trust (caFile, insecure), proxies from an injected env,
 * User-Agent, Link pagination, Warning headers.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../src/log.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from '../../../src/oci/registry/client.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';
import { startForwardProxy, viaProxyName } from '../../helpers/forward-proxy.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';

const regs = getRegistries();
const closers: { close(): unknown }[] = [];
afterAll(async () => {
  for (const c of closers) await c.close();
});

function client(opts: RegistryClientOptions): RegistryClient {
  const c = createRegistryClient({ retry: { attempts: 1 }, ...opts });
  closers.push(c);
  return c;
}

describe('TLS', () => {
  const reg = regs.tls;

  it('fails with a CA hint when the certificate is not trusted', async () => {
    await expect(client({}).ping(reg.host)).rejects.toMatchObject({ code: 'ERR_NETWORK', hint: expect.stringContaining('--ca-file') });
  });

  it('trusts a CA file, or skips verification with insecure', async () => {
    await client({ caFile: reg.caFile! }).ping(reg.host);
    await client({ insecure: true }).ping(reg.host);
  });

  it('uses https unless plain HTTP is asked for', async () => {
    await expect(client({}).ping(regs.open.host)).rejects.toMatchObject({ code: 'ERR_NETWORK' });
    await client({ plainHttp: (r) => r === regs.open.host }).ping(regs.open.host);
  });
});

describe('proxy from the injected env', () => {
  it('tunnels https and http registries through the proxy, and honours NO_PROXY', async () => {
    const proxy = await startForwardProxy();
    closers.push(proxy);
    const tlsName = viaProxyName(regs.tls.host);
    const openName = viaProxyName(regs.open.host);
    await client({ caFile: regs.tls.caFile!, env: { HTTPS_PROXY: proxy.url } }).ping(tlsName);
    await client({ plainHttp: true, env: { http_proxy: proxy.url } }).ping(openName);
    expect(proxy.targets).toEqual([tlsName, openName]);
    // A NO_PROXY name goes direct: only the proxy knows *.rulesctl.test, so it fails to resolve.
    for (const noProxy of ['registry.rulesctl.test', '.rulesctl.test', `rulesctl.test:${openName.split(':')[1]}`]) {
      await expect(client({ plainHttp: true, env: { HTTP_PROXY: proxy.url, NO_PROXY: noProxy } }).ping(openName), noProxy)
        .rejects.toMatchObject({ code: 'ERR_NETWORK', message: expect.stringContaining('registry.rulesctl.test') });
    }
    expect(proxy.targets).toHaveLength(2);
  });

  it('never sends loopback registries through the proxy, as Go does (no NO_PROXY needed)', async () => {
    const proxy = await startForwardProxy();
    closers.push(proxy);
    await client({ caFile: regs.tls.caFile!, env: { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url } }).ping(regs.tls.host);
    await client({ plainHttp: true, env: { HTTP_PROXY: proxy.url } }).ping(regs.open.host);
    await client({ plainHttp: true, env: { HTTP_PROXY: proxy.url } }).ping(`localhost:${regs.open.host.split(':')[1]}`);
    expect(proxy.targets).toEqual([]);
  });

  it('applies a NO_PROXY CIDR to IP hosts only, not to names (as Go)', async () => {
    const proxy = await startForwardProxy();
    closers.push(proxy);
    // 127.0.0.1 is never proxied anyway; a CIDR that covers the proxy-only name's address does not apply to names.
    await client({ plainHttp: true, env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.0/8' } }).ping(viaProxyName(regs.open.host));
    expect(proxy.targets).toEqual([viaProxyName(regs.open.host)]);
  });
});

describe('protocol details', () => {
  it('sends the rulesctl User-Agent', async () => {
    const reg = regs.open;
    const repository = uniqueRepo('ua');
    await expect(client({ plainHttp: true }).repository({ registry: reg.host, repository }).resolve('x')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    const mine = (await reg.accessLog()).filter((e) => e.path.includes(repository));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e) => /^rulesctl\/\d+\.\d+\.\d+/.test(e.userAgent))).toBe(true);
  });

  it('follows Link pagination of tag lists and de-duplicates', async () => {
    const reg = regs.open;
    const repository = uniqueRepo('pages');
    const c = client({ plainHttp: true });
    const repo = c.repository({ registry: reg.host, repository });
    const config = Buffer.from('{}');
    const configDesc = { mediaType: MediaTypes.ociEmpty, digest: `sha256:${createHash('sha256').update(config).digest('hex')}`, size: 2 };
    await repo.push(configDesc, config);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [] }));
    const md = { mediaType: MediaTypes.ociManifest, digest: `sha256:${createHash('sha256').update(manifest).digest('hex')}`, size: manifest.length };
    for (const t of ['a', 'b', 'c']) await repo.pushManifest(md, manifest, t);

    const proxy = await startFaultProxy({ upstream: reg.url });
    closers.push(proxy);
    proxy.setRules([{
      method: 'GET', path: /\/tags\/list$/, times: 1, kind: 'respond', status: 200,
      headers: { 'content-type': 'application/json', link: `</v2/${repository}/tags/list?n=2&last=b>; rel="next"` },
      body: { name: repository, tags: ['a', 'b', 'zz-only-on-page-1'] },
    }]);
    const tags = await client({ plainHttp: true }).repository({ registry: proxy.host, repository }).listTags();
    expect(tags.sort()).toEqual(['a', 'b', 'c', 'zz-only-on-page-1']);
    const pages = proxy.requests.filter((r) => r.path.includes('/tags/list'));
    expect(pages.map((r) => r.path)).toEqual([`/v2/${repository}/tags/list?n=1000`, `/v2/${repository}/tags/list?n=2&last=b`]);
  });

  it('uses the referrers API when the registry has one (pages, server-side and client-side filters)', async () => {
    const proxy = await startFaultProxy({ upstream: regs.open.url });
    closers.push(proxy);
    const repository = uniqueRepo('refapi');
    const subject = `sha256:${'1'.repeat(64)}`;
    const ref = (n: string, artifactType: string) => ({ mediaType: MediaTypes.ociManifest, digest: `sha256:${n.repeat(64)}`, size: 10, artifactType });
    const index = (manifests: unknown[]) => ({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests });
    proxy.setRules([
      { method: 'GET', path: new RegExp(`/referrers/${subject}$`), times: 1, kind: 'respond', status: 200,
        headers: { 'content-type': MediaTypes.ociIndex, link: `</v2/${repository}/referrers/${subject}?page=2>; rel="next"` },
        body: index([ref('a', 'application/sig'), ref('b', 'application/sbom')]) },
      { method: 'GET', path: new RegExp(`/referrers/${subject}$`), times: 1, kind: 'respond', status: 200,
        headers: { 'content-type': MediaTypes.ociIndex }, body: index([ref('c', 'application/sig')]) },
      { method: 'GET', path: new RegExp(`/referrers/${subject}$`), times: 1, kind: 'respond', status: 200,
        headers: { 'content-type': MediaTypes.ociIndex, 'oci-filters-applied': 'artifactType' }, body: index([ref('d', 'application/sig')]) },
    ]);
    const repo = client({ plainHttp: true }).repository({ registry: proxy.host, repository });
    expect((await repo.referrers(subject, 'application/sig')).map((d) => d.digest[7])).toEqual(['a', 'c']);
    expect((await repo.referrers(subject, 'application/sig')).map((d) => d.digest[7])).toEqual(['d']);
    expect(proxy.requests.map((r) => r.path)).toEqual([
      `/v2/${repository}/referrers/${subject}?artifactType=application%2Fsig`,
      `/v2/${repository}/referrers/${subject}?page=2`,
      `/v2/${repository}/referrers/${subject}?artifactType=application%2Fsig`,
    ]);
  });

  it('logs each distinct Warning header once', async () => {
    const proxy = await startFaultProxy({ upstream: regs.open.url });
    closers.push(proxy);
    proxy.setRules([{ method: 'GET', path: /^\/v2\/$/, kind: 'respond', status: 200, headers: { warning: '299 - "this registry is deprecated"' }, body: {} }]);
    const logger = memoryLogger();
    const c = client({ plainHttp: true, logger });
    await c.ping(proxy.host);
    await c.ping(proxy.host);
    expect(logger.records.filter((r) => r.level === 'warn').map((r) => r.fields['warning'])).toEqual(['this registry is deprecated']);
  });
});
