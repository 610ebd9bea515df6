/**
 * Request bodies that carry credentials are never resent to another origin on a 307/308 redirect
 * (Go's http.Client would resend them, dropping only headers): the registry token request with an
 * identity (refresh) token, and the OAuth client-credentials and GCP token requests (fetchVia).
 * Another origin is another host, port or scheme: here 127.0.0.1 vs localhost, both plain HTTP on
 * this machine, and a second port. Same-origin 307s and 302-to-GET still work.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import { fetchVia } from '../../../src/util/undici.js';

interface Seen { method: string; url: string; auth: string | undefined; body: string }

/** A server that records every request and answers with `answer`. */
async function server(answer: (req: IncomingMessage, body: string, res: import('node:http').ServerResponse) => void): Promise<{ s: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      answer(req, body, res);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { s, port: (s.address() as AddressInfo).port, seen };
}

let other: Awaited<ReturnType<typeof server>>;
let registry: Awaited<ReturnType<typeof server>>;
/** Where the registry's token realm redirects to. */
let realmTarget = '';

beforeAll(async () => {
  other = await server((_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: 'tok', access_token: 'tok', expires_in: 300 }));
  });
  registry = await server((req, _body, res) => {
    if (req.url!.startsWith('/token')) {
      res.writeHead(307, { location: realmTarget });
      res.end();
    } else if (req.url === '/same-origin-token') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: 'tok' }));
    } else if (req.headers.authorization === 'Bearer tok') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    } else {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${registry.port}/token",service="reg"` });
      res.end();
    }
  });
});
afterAll(async () => {
  for (const { s } of [other, registry]) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});
beforeEach(() => {
  other.seen.length = 0;
  registry.seen.length = 0;
});

describe('the registry token request with an identity token', () => {
  const ping = async () => {
    const client = createRegistryClient({ plainHttp: true, credentials: async () => ({ kind: 'identity-token', token: 'REFRESH-TOKEN-SECRET' }), retry: { baseMs: 1, maxMs: 2 } });
    try {
      await client.ping(`127.0.0.1:${registry.port}`);
    } finally {
      await client.close();
    }
  };

  it('is not resent when the realm redirects (307) to another host', async () => {
    realmTarget = `http://localhost:${other.port}/collect`;
    await expect(ping()).rejects.toMatchObject({ message: expect.stringContaining('another origin') });
    expect(other.seen).toEqual([]);
    expect(registry.seen.find((r) => r.url.startsWith('/token'))?.body).toContain('refresh_token=REFRESH-TOKEN-SECRET');
  });

  it('is not resent when the realm redirects (308) to another port of the same host', async () => {
    realmTarget = `http://127.0.0.1:${other.port}/collect`;
    await expect(ping()).rejects.toMatchObject({ message: expect.stringContaining('another origin') });
    expect(other.seen).toEqual([]);
  });

  it('follows a 307 within the same origin', async () => {
    realmTarget = '/same-origin-token';
    await ping();
    const resent = registry.seen.find((r) => r.url === '/same-origin-token');
    expect(resent?.method).toBe('POST');
    expect(resent?.body).toContain('refresh_token=REFRESH-TOKEN-SECRET');
  });
});

describe('fetchVia (OAuth and GCP token requests)', () => {
  const post = (url: string) => fetchVia()(url, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic Y2lkOnNlY3JldA==' },
    body: 'grant_type=client_credentials&client_secret=CLIENT-SECRET',
  });
  let redirect: { status: number; location: string };
  let hop: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => {
    hop = await server((req, _body, res) => {
      if (req.url === '/token') {
        res.writeHead(redirect.status, { location: redirect.location });
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"access_token":"tok"}');
      }
    });
  });
  afterAll(async () => {
    hop.s.closeAllConnections();
    await new Promise<void>((r) => hop.s.close(() => r()));
  });

  it.each([307, 308])('refuses a %i that would resend the body to another origin', async (status) => {
    redirect = { status, location: `http://localhost:${other.port}/collect` };
    await expect(post(`http://127.0.0.1:${hop.port}/token`)).rejects.toMatchObject({ code: 'ERR_REDIRECT', message: expect.stringContaining('not resending its body') });
    expect(other.seen).toEqual([]);
  });

  it('follows a 307 within the same origin, body and Authorization included', async () => {
    redirect = { status: 307, location: '/elsewhere' };
    const res = await post(`http://127.0.0.1:${hop.port}/token`);
    expect(res.status).toBe(200);
    expect(hop.seen.at(-1)).toMatchObject({ method: 'POST', url: '/elsewhere', auth: 'Basic Y2lkOnNlY3JldA==', body: expect.stringContaining('CLIENT-SECRET') });
  });

  it('turns a 302 to another origin into a GET without body or Authorization, as Go does', async () => {
    redirect = { status: 302, location: `http://localhost:${other.port}/moved` };
    const res = await post(`http://127.0.0.1:${hop.port}/token`);
    expect(res.status).toBe(200);
    expect(other.seen).toEqual([{ method: 'GET', url: '/moved', auth: undefined, body: '' }]);
  });

  it('stops after 10 redirects', async () => {
    redirect = { status: 307, location: '/token' };
    hop.seen.length = 0;
    await expect(post(`http://127.0.0.1:${hop.port}/token`)).rejects.toMatchObject({ code: 'ERR_REDIRECT', message: expect.stringContaining('10 redirects') });
    expect(hop.seen.length).toBe(11);
  });
});
