/**
 * Google application-default credentials against a token server on 127.0.0.1: service-account
 * JWT (signature and claims verified with the public key), caching, authorized_user refresh,
 * the metadata server, errors without secrets, and no ADC at all.
 */
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GCP_SCOPE, createGcpTokenSource } from '../../../src/oci/auth/credentials/gcp.js';
import { caught, exposedText, tempDir } from './_fixtures.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const SECRET = 'client-SECRET-42';
const REFRESH = 'refresh-TOKEN-7';

interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: URLSearchParams }
type Handler = (req: Seen) => { status: number; body: unknown };

let server: Server;
let base: string;
let handler: Handler;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: new URLSearchParams(Buffer.concat(chunks).toString()) };
      seen.push(s);
      const r = handler(s);
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => new Promise<void>((r) => server.close(() => r())));

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  seen.length = 0;
});
afterEach(async () => cleanup());

/** Checks an RS256 JWT-bearer assertion as Google's token endpoint would; returns its claims. */
function verifyJwt(jwt: string, key: KeyObject): Record<string, unknown> {
  const [h, c, sig] = jwt.split('.');
  if (!verify('RSA-SHA256', Buffer.from(`${h}.${c}`), key, Buffer.from(sig!, 'base64url'))) throw new Error('bad signature');
  const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, unknown>;
  if (header.alg !== 'RS256' || header.typ !== 'JWT' || header.kid !== 'key-1') throw new Error('bad header');
  return JSON.parse(Buffer.from(c!, 'base64url').toString()) as Record<string, unknown>;
}

/** A token endpoint for the service account: verifies the assertion, then answers a token. */
function serviceAccountEndpoint(token = 'ya29.sa-token', expiresIn = 3600): Handler {
  return (req) => {
    if (req.method !== 'POST' || req.url !== '/token') return { status: 404, body: {} };
    if (req.body.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return { status: 400, body: { error: 'unsupported_grant_type' } };
    try {
      const claims = verifyJwt(req.body.get('assertion') ?? '', publicKey);
      const ok = claims.iss === 'sa@proj.iam.gserviceaccount.com' && claims.aud === `${base}/token` && claims.scope === GCP_SCOPE
        && (claims.exp as number) - (claims.iat as number) === 3600;
      if (!ok) return { status: 400, body: { error: 'invalid_grant' } };
    } catch {
      return { status: 400, body: { error: 'invalid_grant' } };
    }
    return { status: 200, body: { access_token: `${token}-${seen.length}`, expires_in: expiresIn, token_type: 'Bearer' } };
  };
}

async function serviceAccountFile(): Promise<string> {
  const path = join(dir, 'sa.json');
  await writeFile(path, JSON.stringify({
    type: 'service_account', project_id: 'proj', private_key_id: 'key-1', private_key: PRIVATE_PEM,
    client_email: 'sa@proj.iam.gserviceaccount.com', client_id: '123', token_uri: `${base}/token`,
  }));
  return path;
}

/** A metadata host that refuses connections: a port that was listened on, then closed. */
async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `127.0.0.1:${port}`;
}

describe('service_account via GOOGLE_APPLICATION_CREDENTIALS', () => {
  it('signs an RS256 JWT the server verifies, and caches the token until ~60 s before expiry', async () => {
    handler = serviceAccountEndpoint();
    let clock = 1_700_000_000_000;
    const source = createGcpTokenSource({ env: { GOOGLE_APPLICATION_CREDENTIALS: await serviceAccountFile() }, home: dir, now: () => clock });
    expect(await source()).toBe('ya29.sa-token-1');
    expect(await source()).toBe('ya29.sa-token-1');
    expect(seen).toHaveLength(1);
    clock += 3600_000 - 30_000;
    expect(await source()).toBe('ya29.sa-token-2');
    expect(seen).toHaveLength(2);
  });

  it('a 401 from the token server: ERR_CREDENTIALS naming the file and status, without the key', async () => {
    handler = () => ({ status: 401, body: { error: 'invalid_client' } });
    const path = await serviceAccountFile();
    const err = await caught(() => createGcpTokenSource({ env: { GOOGLE_APPLICATION_CREDENTIALS: path }, home: dir })());
    expect(err.code).toBe('ERR_CREDENTIALS');
    expect(err.message).toContain(path);
    expect(err.message).toContain('HTTP 401');
    const text = exposedText(err);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(PRIVATE_PEM.split('\n')[1]!);
  });

  it('a missing GOOGLE_APPLICATION_CREDENTIALS file is an error, not a fall-through', async () => {
    const err = await caught(() => createGcpTokenSource({ env: { GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'nope.json') }, home: dir })());
    expect(err.code).toBe('ERR_CREDENTIALS');
    expect(err.message).toContain('nope.json');
  });
});

describe('authorized_user (gcloud auth application-default login)', () => {
  it('reads <home>/.config/gcloud/application_default_credentials.json and refreshes the token', async () => {
    handler = (req) => {
      const ok = req.method === 'POST' && req.url === '/token' && req.body.get('grant_type') === 'refresh_token'
        && req.body.get('client_id') === 'cid' && req.body.get('client_secret') === SECRET && req.body.get('refresh_token') === REFRESH;
      return ok ? { status: 200, body: { access_token: 'ya29.user', expires_in: 3599 } } : { status: 400, body: { error: 'invalid_grant' } };
    };
    const gcloud = join(dir, '.config', 'gcloud');
    await mkdir(gcloud, { recursive: true });
    await writeFile(join(gcloud, 'application_default_credentials.json'), JSON.stringify({
      type: 'authorized_user', client_id: 'cid', client_secret: SECRET, refresh_token: REFRESH, token_uri: `${base}/token`,
    }));
    const source = createGcpTokenSource({ env: { GCE_METADATA_HOST: await closedPort() }, home: dir });
    expect(await source()).toBe('ya29.user');
    expect(seen).toHaveLength(1);

    handler = () => ({ status: 401, body: { error: 'unauthorized_client' } });
    const err = await caught(() => createGcpTokenSource({ env: {}, home: dir })());
    expect(err.code).toBe('ERR_CREDENTIALS');
    expect(err.message).toContain('HTTP 401');
    const text = exposedText(err);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(REFRESH);
  });
});

describe('metadata server', () => {
  it('GETs the default service account token with Metadata-Flavor: Google and the scope', async () => {
    handler = (req) => {
      const u = new URL(req.url, base);
      const ok = req.method === 'GET' && req.headers['metadata-flavor'] === 'Google'
        && u.pathname === '/computeMetadata/v1/instance/service-accounts/default/token' && u.searchParams.get('scopes') === GCP_SCOPE;
      return ok ? { status: 200, body: { access_token: 'ya29.gce', expires_in: 1800, token_type: 'Bearer' } } : { status: 403, body: {} };
    };
    const source = createGcpTokenSource({ env: { GCE_METADATA_HOST: base.replace('http://', '') }, home: dir });
    expect(await source()).toBe('ya29.gce');
    expect(await source()).toBe('ya29.gce');
    expect(seen).toHaveLength(1);
  });

  it('no ADC at all: a clear ERR_CREDENTIALS naming the metadata host, with the setup hint', async () => {
    const host = await closedPort();
    const err = await caught(() => createGcpTokenSource({ env: { GCE_METADATA_HOST: host }, home: dir })());
    expect(err.code).toBe('ERR_CREDENTIALS');
    expect(err.message).toContain('could not find default credentials');
    expect(err.message).toContain(host);
    expect(err.hint).toContain('gcloud auth application-default login');
    expect(err.hint).toContain('GOOGLE_APPLICATION_CREDENTIALS');
  });
});
