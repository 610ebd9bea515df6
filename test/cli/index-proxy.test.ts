/**
 * Index downloads (`index add`, and the index an install or follow fetches) go through HTTP_PROXY
 * from the CLI's environment and skip it for NO_PROXY hosts, as registry and token requests do.
 * The index server and the proxy are local; as in Go, loopback is never proxied, so the index
 * server is named `index.rulesctl.test` where it should go through the proxy (only the proxy resolves it).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startForwardProxy, viaProxyName, type ForwardProxy } from '../helpers/forward-proxy.js';
import { tmpDir } from '../helpers/tmp.js';
import { REPO_ROOT, spawnCli, testEnv } from './_run.js';

const INDEX = readFileSync(join(REPO_ROOT, 'index', 'index.yaml'));
let proxy: ForwardProxy;
let server: Server;
let indexUrl = '';
let indexHost = '';

beforeAll(async () => {
  proxy = await startForwardProxy();
  server = createServer((req, res) => {
    res.writeHead(req.url === '/index.yaml' ? 200 : 404, { 'content-type': 'application/yaml' });
    res.end(req.url === '/index.yaml' ? INDEX : '');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  indexHost = viaProxyName(`127.0.0.1:${(server.address() as AddressInfo).port}`, 'index');
  indexUrl = `http://${indexHost}/index.yaml`;
});
afterAll(async () => {
  await proxy.close();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('index downloads and the proxy env', () => {
  it('index add fetches through HTTP_PROXY, and directly for a NO_PROXY host', async () => {
    const home = tmpDir('index-proxy');
    const via = await spawnCli(['index', 'add', 'viaproxy', indexUrl], { env: { ...testEnv(home), HTTP_PROXY: proxy.url } });
    expect(via.code, via.stderr).toBe(0);
    expect(proxy.targets).toEqual([indexHost]);
    const cached = readFileSync(join(home, '.config', 'falcoctl', 'indexes', 'viaproxy.yaml'));
    expect(cached.equals(INDEX)).toBe(true);

    // Direct, the proxy-only name does not resolve: the failure shows the proxy was skipped.
    const direct = await spawnCli(['index', 'add', 'direct', indexUrl], { env: { ...testEnv(home), http_proxy: proxy.url, NO_PROXY: 'index.rulesctl.test' } });
    expect(direct.code).toBe(1);
    expect(direct.stderr).toContain('ENOTFOUND');
    expect(proxy.targets).toEqual([indexHost]);
    // Loopback is never proxied.
    const loopback = await spawnCli(['index', 'add', 'loopback', indexUrl.replace('index.rulesctl.test', '127.0.0.1')], { env: { ...testEnv(home), HTTP_PROXY: proxy.url } });
    expect(loopback.code, loopback.stderr).toBe(0);
    expect(proxy.targets).toEqual([indexHost]);
  });

  it('a dead proxy fails the download clearly and caches nothing', async () => {
    const home = tmpDir('index-proxy-dead');
    const r = await spawnCli(['index', 'add', 'dead', indexUrl], { env: { ...testEnv(home), HTTP_PROXY: 'http://127.0.0.1:9' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unable to fetch index "dead"/);
    expect(() => readFileSync(join(home, '.config', 'falcoctl', 'indexes', 'dead.yaml'))).toThrow();
  });
});
