/**
 * Token requests (OAuth2 client credentials, Google ADC) go through HTTP_PROXY from the CLI's
 * environment and skip it for NO_PROXY hosts, as the registry traffic does (falcoctl.md §12:
 * proxy from env). Token servers, the registry and the proxy are local; as in Go, loopback is never
 * proxied, so a server meant to be reached through the proxy is named `*.rulesctl.test`, a name
 * only the test proxy resolves.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startForwardProxy, viaProxyName, type ForwardProxy } from '../helpers/forward-proxy.js';
import { tmpDir } from '../helpers/tmp.js';
import { spawnCli, testEnv } from './_run.js';

const BASIC = `Basic ${Buffer.from('rulesctl:cl1ent-SECRET').toString('base64')}`;
let proxy: ForwardProxy;
let server: Server;
let tokenHost = '';
/** The token server under a name only the proxy resolves. */
let tokenName = '';
/** Paths the token server answered. */
const answered: string[] = [];

beforeAll(async () => {
  proxy = await startForwardProxy();
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      answered.push(req.url!);
      const ok = req.url === '/google/token' || req.headers.authorization === BASIC;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { access_token: 'acc3ss-TOKEN', token_type: 'bearer', expires_in: 300 } : { error: 'invalid_client' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  tokenHost = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  tokenName = viaProxyName(tokenHost, 'token');
});
afterAll(async () => {
  await proxy.close();
  await new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  proxy.targets.length = 0;
  answered.length = 0;
});

function oauthArgs(host = tokenName): string[] {
  return ['registry', 'auth', 'oauth', 'registry.example.com', '--token-url', `http://${host}/oauth2/token`,
    '--client-id', 'rulesctl', '--client-secret', 'cl1ent-SECRET', '--plain-http'];
}

describe('registry auth oauth behind a proxy', () => {
  it('sends the token request through HTTP_PROXY', async () => {
    const r = await spawnCli(oauthArgs(), { env: testEnv(tmpDir('auth-proxy'), { HTTP_PROXY: proxy.url }) });
    expect(r.stderr).toContain('Client credentials correctly saved');
    expect(r.code).toBe(0);
    expect(proxy.targets).toEqual([tokenName]);
    expect(answered).toEqual(['/oauth2/token']);
  });

  it('goes direct when NO_PROXY covers the token host (lower-case variables too), and for loopback', async () => {
    // Direct, a name only the proxy knows does not resolve: the error shows it was not proxied.
    const upper = await spawnCli(oauthArgs(), { env: testEnv(tmpDir('auth-noproxy'), { HTTP_PROXY: proxy.url, NO_PROXY: 'token.rulesctl.test' }) });
    expect(upper.code).toBe(1);
    expect(upper.stderr).toContain(`cannot fetch token from "http://${tokenName}/oauth2/token": ENOTFOUND`);
    const lower = await spawnCli(oauthArgs(), { env: testEnv(tmpDir('auth-noproxy'), { http_proxy: proxy.url, no_proxy: 'localhost,.rulesctl.test' }) });
    expect(lower.code).toBe(1);
    expect(lower.stderr).toContain('ENOTFOUND');
    const loopback = await spawnCli(oauthArgs(tokenHost), { env: testEnv(tmpDir('auth-noproxy'), { HTTP_PROXY: proxy.url }) });
    expect(loopback.code, loopback.stderr).toBe(0);
    expect(proxy.targets).toEqual([]);
    expect(answered).toEqual(['/oauth2/token']);
  });

  it('a proxy that refuses connections: exit 1 quoting the token URL and the cause, no secret', async () => {
    const closed = await startForwardProxy();
    await closed.close();
    const r = await spawnCli(oauthArgs(), { env: testEnv(tmpDir('auth-proxy-down'), { HTTP_PROXY: closed.url }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`oauth2: cannot fetch token from "http://${tokenName}/oauth2/token": ECONNREFUSED`);
    expect(r.stderr).not.toContain('cl1ent-SECRET');
    expect(answered).toEqual([]);
  });
});

describe('token sources of the registry commands behind a proxy', () => {
  it('registry.auth.oauth: the token comes through the proxy, the registry (loopback) is reached direct', async () => {
    const auths: (string | undefined)[] = [];
    const registry = createServer((req, res) => {
      auths.push(req.headers.authorization);
      req.resume();
      const status = req.headers.authorization === undefined ? 401 : 404;
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 401 ? { 'www-authenticate': 'Basic realm="r"' } : {}) });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"no"}]}');
    });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
    try {
      const host = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
      const home = tmpDir('auth-proxy-pull');
      const env = testEnv(home, {
        HTTP_PROXY: proxy.url,
        FALCOCTL_REGISTRY_AUTH_OAUTH: `${host},rulesctl,cl1ent-SECRET,http://${tokenName}/oauth2/token`,
      });
      const r = await spawnCli(['registry', 'pull', `${host}/proj/rules:1`, '--dest-dir', home, '--plain-http'], { env });
      expect(r.code).toBe(1);
      expect(auths).toContain('Bearer acc3ss-TOKEN');
      expect(proxy.targets).toEqual([tokenName]);
    } finally {
      await new Promise<void>((r) => registry.close(() => r()));
    }
  });

  it('registry auth gcp: the ADC token request goes through HTTP_PROXY', async () => {
    const home = tmpDir('auth-proxy-gcp');
    const adc = join(home, 'adc.json');
    writeFileSync(adc, JSON.stringify({ type: 'authorized_user', client_id: 'c', client_secret: 's', refresh_token: 'r', token_uri: `http://${tokenName}/google/token` }));
    const config = join(home, 'falcoctl.yaml');
    const r = await spawnCli(['registry', 'auth', 'gcp', 'europe-docker.pkg.dev', '--config', config], {
      env: testEnv(home, { GOOGLE_APPLICATION_CREDENTIALS: adc, HTTP_PROXY: proxy.url }),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(proxy.targets).toEqual([tokenName]);
    expect(answered).toEqual(['/google/token']);
    expect(yaml.load(readFileSync(config, 'utf8'))).toEqual({ registry: { auth: { gcp: [{ registry: 'europe-docker.pkg.dev' }] } } });
  });
});
