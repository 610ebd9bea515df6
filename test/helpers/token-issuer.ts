/**
 * A Docker token-auth issuer for tests (spec: ../shared/spec/test-registry.md §3,
 * https://distribution.github.io/distribution/spec/auth/token/).
 *
 * `GET /token?service=&scope=&scope=&account=` with optional Basic credentials answers
 * `{token, access_token, expires_in, issued_at}`; the token is an ES256 JWT with a raw r‖s signature,
 * an `x5c` header holding the issuer certificate, `aud` as a JSON string, and
 * `access` = requested ∩ allowed. Unknown user or wrong password: 401. Every request is recorded and
 * `GET /_requests` returns the records as JSON so tests in other processes can count them.
 */
import { createHash, createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';

/** Actions a user may receive on any repository. */
export interface IssuerUser {
  password: string;
  actions: string[];
}

/** One `access` entry of a registry JWT. */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/** What the issuer saw for one request. */
export interface TokenRequestRecord {
  method: string;
  path: string;
  /** Basic user, `null` when anonymous. */
  user: string | null;
  account: string | null;
  service: string | null;
  scopes: string[];
  status: number;
  granted: AccessEntry[];
}

export interface TokenIssuerOptions {
  keyFile: string;
  certFile: string;
  service?: string;
  issuer?: string;
  host?: string;
  /** Seconds; default 300. */
  expiresIn?: number;
  /** Default: alice/s3cret (pull, push, delete, *) and reader/r (pull). Anonymous gets pull. */
  users?: Record<string, IssuerUser>;
  anonymousActions?: string[];
}

export interface TokenIssuer {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** The `realm` to put in the registry config: `<url>/token`. */
  realm: string;
  service: string;
  issuer: string;
  records: TokenRequestRecord[];
  close(): Promise<void>;
}

/** Default users: the ones CONTRIBUTING.md promises. */
export const DEFAULT_ISSUER_USERS: Record<string, IssuerUser> = {
  alice: { password: 's3cret', actions: ['pull', 'push', 'delete', '*'] },
  reader: { password: 'r', actions: ['pull'] },
};

/**
 * Writes `token.key`, `token.crt` (self-signed EC P-256) and `bundle.pem` (the registry's
 * `rootcertbundle`) into `dir` with openssl (spec §3).
 */
export async function createTokenCerts(dir: string): Promise<{ keyFile: string; certFile: string; bundleFile: string }> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  const bundleFile = join(dir, 'bundle.pem');
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=test-token-issuer']);
  await writeFile(bundleFile, await readFile(certFile));
  return { keyFile, certFile, bundleFile };
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

function certDerBase64(pem: string): string {
  const body = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!body?.[1]) throw new Error('token issuer: no CERTIFICATE block in the cert file');
  return body[1].replace(/\s+/g, '');
}

/** Signs a compact ES256 JWS with a raw r‖s signature (spec §3 pitfall 3). */
export function signJwt(header: object, claims: object, key: KeyObject): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(sig)}`;
}

/** Splits `type:name:actions` at the first and the last `:` (a name may hold `:`). */
export function parseScope(scope: string): AccessEntry | null {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return null;
  const actions = scope.slice(last + 1).split(',').filter(Boolean);
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

function basicUser(req: IncomingMessage): { user: string; password: string } | null {
  const header = req.headers.authorization;
  if (!header || !/^basic /i.test(header)) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function grant(requested: string[], allowed: string[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const scope of requested.flatMap((s) => s.split(' ')).filter(Boolean)) {
    const entry = parseScope(scope);
    if (!entry) continue;
    const actions = entry.actions.filter((a) => allowed.includes(a));
    if (actions.length > 0) out.push({ ...entry, actions });
  }
  return out;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Starts the issuer on `host` (default 127.0.0.1) and an ephemeral port. */
export async function startTokenIssuer(opts: TokenIssuerOptions): Promise<TokenIssuer> {
  const key = createPrivateKey(await readFile(opts.keyFile));
  const x5c = [certDerBase64(await readFile(opts.certFile, 'utf8'))];
  const service = opts.service ?? 'test-registry';
  const issuer = opts.issuer ?? 'test-issuer';
  const users = opts.users ?? DEFAULT_ISSUER_USERS;
  const expiresIn = opts.expiresIn ?? 300;
  const records: TokenRequestRecord[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://issuer');
    if (url.pathname === '/_requests') return sendJson(res, 200, records);
    const creds = basicUser(req);
    const record: TokenRequestRecord = {
      method: req.method ?? 'GET', path: url.pathname, user: creds?.user ?? null,
      account: url.searchParams.get('account'), service: url.searchParams.get('service'),
      scopes: url.searchParams.getAll('scope'), status: 0, granted: [],
    };
    records.push(record);
    if (url.pathname !== '/token' || req.method !== 'GET') {
      record.status = url.pathname === '/token' ? 405 : 404;
      return sendJson(res, record.status, { details: 'only GET /token is served' });
    }
    let allowed = opts.anonymousActions ?? ['pull'];
    if (creds) {
      const u = users[creds.user];
      if (!u || u.password !== creds.password) {
        record.status = 401;
        return sendJson(res, 401, { details: 'invalid username/password' }, { 'www-authenticate': 'Basic realm="test-issuer"' });
      }
      allowed = u.actions;
    }
    record.granted = grant(record.scopes, allowed);
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt({ typ: 'JWT', alg: 'ES256', x5c }, {
      iss: issuer, sub: creds?.user ?? '', aud: service, exp: now + expiresIn, nbf: now - 10, iat: now,
      jti: randomUUID(), access: record.granted,
    }, key);
    record.status = 200;
    sendJson(res, 200, { token, access_token: token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() });
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address}:${port}`;
  return {
    url, realm: `${url}/token`, service, issuer, records,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Reads the records of an issuer that may live in another process (the global setup). */
export async function fetchTokenRecords(issuerUrl: string): Promise<TokenRequestRecord[]> {
  const res = await fetch(`${issuerUrl}/_requests`);
  if (!res.ok) throw new Error(`token issuer ${issuerUrl}: /_requests answered ${res.status}`);
  return (await res.json()) as TokenRequestRecord[];
}

/** Counts `/token` requests, optionally only those whose scopes name `repository`. */
export function countTokenRequests(records: TokenRequestRecord[], filter: { repository?: string; user?: string | null } = {}): number {
  return records.filter((r) => r.path === '/token'
    && (filter.user === undefined || r.user === filter.user)
    && (filter.repository === undefined || r.scopes.some((s) => s.split(' ').some((x) => parseScope(x)?.name === filter.repository)))).length;
}

/** Libtrust-style key id (spec §3 `kid`), exported for tests that sign their own tokens. */
export function libtrustKeyId(spkiDer: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return out.match(/.{4}/g)!.join(':');
}
