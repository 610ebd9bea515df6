/**
 * The library API takes the proxy from the env it is given for OAuth token requests too, as for
 * registry requests (the CLI always did): a registry on loopback (never proxied) whose
 * client-credentials token server is reached through HTTP_PROXY. The token server is named
 * `token.rulesctl.test`, which only the test proxy resolves.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { resolve } from 'rulesctl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startForwardProxy, viaProxyName, type ForwardProxy } from '../../helpers/forward-proxy.js';
import { tmpDir } from '../../helpers/tmp.js';

let proxy: ForwardProxy;
let idp: Server;
let registry: Server;
const registryAuth: (string | undefined)[] = [];

beforeAll(async () => {
  proxy = await startForwardProxy();
  idp = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"access_token":"acc3ss","token_type":"bearer","expires_in":3600}');
  });
  registry = createServer((req, res) => {
    registryAuth.push(req.headers.authorization);
    req.resume();
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}');
  });
  for (const s of [idp, registry]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  await proxy.close();
  for (const s of [idp, registry]) await new Promise<void>((r) => s.close(() => r()));
});

describe('library API behind a proxy', () => {
  it('fetches the OAuth token through HTTP_PROXY from opts.env', async () => {
    const host = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
    const tokenHost = viaProxyName(`127.0.0.1:${(idp.address() as AddressInfo).port}`, 'token');
    const home = tmpDir('api-token-proxy');
    mkdirSync(join(home, '.config', 'falcoctl'), { recursive: true });
    writeFileSync(join(home, '.config', 'falcoctl', 'clientcredentials.json'), JSON.stringify({
      [host]: { ClientID: 'c', ClientSecret: 's', TokenURL: `http://${tokenHost}/token`, Scopes: null, EndpointParams: null, AuthStyle: 2 },
    }));
    await expect(resolve([`${host}/proj/rules:1`], { plainHttp: true, env: { HOME: home, HTTP_PROXY: proxy.url } })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(proxy.targets).toEqual([tokenHost]);
    expect(registryAuth).toContain('Bearer acc3ss');
  });
});
