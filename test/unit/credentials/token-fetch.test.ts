/**
 * The token sources over `fetchVia` (undici's request API, what the CLI passes them) against a
 * server on 127.0.0.1: the request as sent, redirects, and the error messages for undici's errors
 * (`code` on the error), fetch's (`code` on its cause) and a timed-out signal.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcpTokenSource, type GcpFetchLike } from '../../../src/oci/auth/credentials/gcp.js';
import type { ClientCredentialsConfig } from '../../../src/oci/auth/credentials/oauth.js';
import { createClientCredentialsTokenSource, type FetchLike } from '../../../src/oci/auth/credentials/oauth-token.js';
import { fetchVia } from '../../../src/util/undici.js';
import { caught, exposedText } from './_fixtures.js';

let server: Server;
let base = '';
const seen: { method: string; url: string; auth: string | undefined; type: string | undefined; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, type: req.headers['content-type'], body });
      if (req.url === '/hang') return; // never answers
      if (req.url === '/moved') {
        res.writeHead(307, { location: '/token' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded', 'set-cookie': ['a=1', 'b=2'] });
      res.end('access_token=t0k&expires_in=60');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const config = (path: string): ClientCredentialsConfig => ({
  ClientID: 'id', ClientSecret: 'client-SECRET-9', TokenURL: `${base}${path}`, Scopes: null, EndpointParams: null, AuthStyle: 2,
});

describe('fetchVia', () => {
  it('POSTs the form with its headers, follows a 307 with the body, and reads headers case-insensitively', async () => {
    seen.length = 0;
    const fetch = fetchVia();
    const res = await fetch(`${base}/moved`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('application/x-www-form-urlencoded');
    expect(res.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(res.headers.get('x-absent')).toBeNull();
    expect(await res.text()).toBe('access_token=t0k&expires_in=60');
    expect(seen.map((s) => [s.method, s.url, s.body])).toEqual([['POST', '/moved', 'a=1'], ['POST', '/token', 'a=1']]);
  });

  it('feeds the OAuth token source: Basic client auth, form body, form-encoded answer', async () => {
    seen.length = 0;
    const source = createClientCredentialsTokenSource({ fetch: fetchVia() });
    expect(await source(config('/token'))).toEqual({ kind: 'bearer', token: 't0k' });
    expect(seen[0]).toMatchObject({ method: 'POST', auth: `Basic ${Buffer.from('id:client-SECRET-9').toString('base64')}`, body: 'grant_type=client_credentials' });
  });
});

describe('token source errors through undici and fetch', () => {
  it('a refused connection: undici puts the code on the error, fetch on its cause; same message', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const c = { ...config('/token'), TokenURL: `http://127.0.0.1:${port}/token` };
    const want = { code: 'ERR_NETWORK', message: `oauth2: cannot fetch token from "http://127.0.0.1:${port}/token": ECONNREFUSED` };
    const viaUndici = await caught(() => createClientCredentialsTokenSource({ fetch: fetchVia() })(c));
    expect(viaUndici).toMatchObject(want);
    expect(exposedText(viaUndici)).not.toContain('client-SECRET-9');
    const fetchStyle: FetchLike = async () => Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }));
    expect(await caught(() => createClientCredentialsTokenSource({ fetch: fetchStyle })(c))).toMatchObject(want);
  });

  it('an AbortSignal timeout is "timed out", not the DOMException code', async () => {
    const err = await caught(() => createClientCredentialsTokenSource({ fetch: fetchVia() })(config('/hang'), { signal: AbortSignal.timeout(100) }));
    expect(err).toMatchObject({ code: 'ERR_ABORTED', message: `oauth2: cannot fetch token from "${base}/hang": timed out` });
  });

  it('GCP: a metadata server that times out (DOMException code 23) is reported as timed out', async () => {
    const timedOut: GcpFetchLike = async () => Promise.reject(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    const err = await caught(() => createGcpTokenSource({ env: { GCE_METADATA_HOST: 'metadata.test' }, home: '/nonexistent', fetch: timedOut })());
    expect(err.code).toBe('ERR_CREDENTIALS');
    expect(err.message).toMatch(/the metadata server metadata\.test is unreachable: timed out\)$/);
  });
});
