import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientCredentialsFor, readClientCredentials, saveClientCredentials } from '../../../src/oci/auth/credentials/oauth.js';
import type { ClientCredentialsConfig } from '../../../src/oci/auth/credentials/oauth.js';
import { createClientCredentialsTokenSource } from '../../../src/oci/auth/credentials/oauth-token.js';
import type { FetchLike } from '../../../src/oci/auth/credentials/oauth-token.js';
import { caught, exposedText, tempDir } from './_fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

const config: ClientCredentialsConfig = {
  ClientID: 'my-client',
  ClientSecret: 'client-SECRET-1',
  TokenURL: 'https://auth.example.com/token',
  Scopes: ['repo:read', 'repo:write'],
  EndpointParams: { audience: ['registry'] },
  AuthStyle: 0,
};

interface Call { url: string; headers: Record<string, string>; body: URLSearchParams }

/** A recording token endpoint: answers from `respond` per call. */
function tokenEndpoint(respond: (call: Call, n: number) => { status: number; body: string; type?: string }): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: FetchLike = async (url, init) => {
    const call = { url, headers: init.headers, body: new URLSearchParams(init.body) };
    calls.push(call);
    const r = respond(call, calls.length);
    return { status: r.status, headers: { get: (n: string) => (n === 'content-type' ? (r.type ?? 'application/json') : null) }, text: async () => r.body };
  };
  return { fetch, calls };
}

describe('client credentials file', () => {
  it('saves compact JSON with Go field names, mode 0600, and reads it back', async () => {
    const path = join(dir, 'falcoctl', 'clientcredentials.json');
    await saveClientCredentials(path, 'ghcr.io', config);
    await saveClientCredentials(path, 'quay.io', { ...config, ClientID: 'other', Scopes: null, EndpointParams: null });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain('\n');
    expect(JSON.parse(text)['ghcr.io']).toEqual(config);
    const all = await readClientCredentials(path);
    expect(clientCredentialsFor(all, 'https://quay.io')?.ClientID).toBe('other');
    expect(await readClientCredentials(join(dir, 'missing.json'))).toEqual({});
  });
});

describe('client-credentials token source', () => {
  it('POSTs the grant with a Basic header and caches the token until expiry', async () => {
    let clock = 1_000_000;
    const ep = tokenEndpoint((_c, n) => ({ status: 200, body: JSON.stringify({ access_token: `tok-${n}`, token_type: 'bearer', expires_in: 60 }) }));
    const source = createClientCredentialsTokenSource({ fetch: ep.fetch, now: () => clock });
    expect(await source(config)).toEqual({ kind: 'bearer', token: 'tok-1' });
    clock += 40_000;
    expect(await source(config)).toEqual({ kind: 'bearer', token: 'tok-1' });
    clock += 15_000; // within golang's 10 s early-expiry window
    expect(await source(config)).toEqual({ kind: 'bearer', token: 'tok-2' });
    expect(ep.calls).toHaveLength(2);
    const call = ep.calls[0] as Call;
    expect(call.url).toBe('https://auth.example.com/token');
    expect(call.headers.authorization).toBe(`Basic ${Buffer.from('my-client:client-SECRET-1').toString('base64')}`);
    expect(Object.fromEntries(call.body)).toEqual({ grant_type: 'client_credentials', scope: 'repo:read repo:write', audience: 'registry' });
  });

  it('falls back to credentials in the body when the header style is refused (AuthStyle 0)', async () => {
    const ep = tokenEndpoint((c) => (c.headers.authorization ? { status: 401, body: '{"error":"invalid_client"}' } : { status: 200, body: 'access_token=form-tok&token_type=bearer', type: 'application/x-www-form-urlencoded' }));
    const source = createClientCredentialsTokenSource({ fetch: ep.fetch });
    expect(await source(config)).toEqual({ kind: 'bearer', token: 'form-tok' });
    expect(ep.calls[1]?.body.get('client_secret')).toBe('client-SECRET-1');
  });

  it('fails with the status and OAuth error code, never the secret', async () => {
    const ep = tokenEndpoint(() => ({ status: 401, body: '{"error":"invalid_client","error_description":"bad secret client-SECRET-1"}' }));
    const source = createClientCredentialsTokenSource({ fetch: ep.fetch });
    const err = await caught(() => source({ ...config, AuthStyle: 1, TokenURL: 'https://user:pw@auth.example.com/token?key=q' }));
    expect(err).toMatchObject({ code: 'ERR_UNAUTHORIZED', message: 'oauth2: cannot fetch token from "https://auth.example.com/token": HTTP 401 (invalid_client)' });
    expect(exposedText(err)).not.toContain('client-SECRET-1');
    expect(ep.calls).toHaveLength(1);
  });

  it('reports a response without a token and a network failure', async () => {
    const empty = createClientCredentialsTokenSource({ fetch: tokenEndpoint(() => ({ status: 200, body: '{}' })).fetch });
    expect(await caught(() => empty(config))).toMatchObject({ code: 'ERR_CREDENTIALS', message: expect.stringContaining('missing access_token') });
    const down = createClientCredentialsTokenSource({ fetch: async () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) });
    expect(await caught(() => down({ ...config, AuthStyle: 2 }))).toMatchObject({ code: 'ERR_NETWORK', message: 'oauth2: cannot fetch token from "https://auth.example.com/token": ECONNREFUSED' });
  });
});
