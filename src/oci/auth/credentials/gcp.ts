import { sign } from 'node:crypto';
import { readFile as fsReadFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import { fetchVia } from '../../../util/undici.js';
import type { Env } from './store.js';
import { safeUrl } from '../redact.js';

/** The scope falcoctl asks ADC for (spec falcoctl.md §12). */
export const GCP_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Tokens are renewed this long before they expire. */
const EXPIRY_MARGIN_MS = 60_000;
const METADATA_TIMEOUT_MS = 5_000;
const HINT = 'set up Google application-default credentials: run `gcloud auth application-default login`, '
  + 'or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or run on GCP with a service account attached';

/** The part of WHATWG fetch the ADC source uses (GET to the metadata server, POST to token_uri). */
export type GcpFetchLike = (
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{ status: number; text(): Promise<string> }>;

export interface GcpTokenSourceOptions {
  env: Env;
  home: string;
  /** Default `fetchVia()` over undici's global dispatcher (no proxy env: the CLI passes its own). */
  fetch?: GcpFetchLike;
  /** Clock in ms, injected for tests. */
  now?: () => number;
  readFile?: (path: string, opts: { signal?: AbortSignal }) => Promise<string>;
}

/** Returns a Google access token (cached until ~60 s before it expires). */
export type GcpTokenSource = (opts?: { signal?: AbortSignal }) => Promise<string>;

interface Fetched { token: string; expiresIn: number }

/**
 * Google application-default credentials (spec falcoctl.md §12, as golang.org/x/oauth2/google
 * finds them): `GOOGLE_APPLICATION_CREDENTIALS`, else `<home>/.config/gcloud/application_default_credentials.json`,
 * else the metadata server (`GCE_METADATA_HOST` or `metadata.google.internal`). Key files of type
 * `service_account` (RS256 JWT-bearer grant) and `authorized_user` (refresh-token grant) are
 * supported; their `token_uri` is honoured. Errors (ERR_CREDENTIALS) name the source and the HTTP
 * status, never a key, secret or token.
 */
export function createGcpTokenSource(options: GcpTokenSourceOptions): GcpTokenSource {
  const fetch = options.fetch ?? fetchVia();
  const now = options.now ?? Date.now;
  const readFile = options.readFile ?? ((p, o) => fsReadFile(p, { encoding: 'utf8', ...(o.signal ? { signal: o.signal } : {}) }));
  let cached: { token: string; expiresAt: number } | undefined;
  return async (opts = {}) => {
    if (cached !== undefined && now() < cached.expiresAt - EXPIRY_MARGIN_MS) return cached.token;
    const t = await fetchToken({ ...options, fetch, now, readFile }, opts.signal);
    cached = { token: t.token, expiresAt: t.expiresIn > 0 ? now() + t.expiresIn * 1000 : now() + EXPIRY_MARGIN_MS };
    return t.token;
  };
}

type Resolved = Required<Pick<GcpTokenSourceOptions, 'fetch' | 'now' | 'readFile'>> & GcpTokenSourceOptions;

async function fetchToken(o: Resolved, signal?: AbortSignal): Promise<Fetched> {
  const explicit = o.env.GOOGLE_APPLICATION_CREDENTIALS;
  if (explicit !== undefined && explicit !== '') {
    const text = await readKeyFile(o, explicit, true, signal);
    return fromKeyFile(o, explicit, text as string, signal);
  }
  const wellKnown = join(o.home, '.config', 'gcloud', 'application_default_credentials.json');
  const text = await readKeyFile(o, wellKnown, false, signal);
  if (text !== undefined) return fromKeyFile(o, wellKnown, text, signal);
  return fromMetadata(o, signal);
}

async function readKeyFile(o: Resolved, path: string, required: boolean, signal?: AbortSignal): Promise<string | undefined> {
  try {
    return await o.readFile(path, signal ? { signal } : {});
  } catch (err) {
    if (signal?.aborted) throw err;
    const code = (err as { code?: string }).code;
    if (!required && code === 'ENOENT') return undefined;
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `google: cannot read credentials file "${path}": ${code ?? 'read failed'}`, { hint: HINT });
  }
}

async function fromKeyFile(o: Resolved, path: string, text: string, signal?: AbortSignal): Promise<Fetched> {
  let f: Record<string, unknown>;
  try {
    f = JSON.parse(text) as Record<string, unknown>;
    if (typeof f !== 'object' || f === null) throw new Error('not an object');
  } catch {
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `google: credentials file "${path}" is not valid JSON`, { hint: HINT });
  }
  const str = (k: string) => (typeof f[k] === 'string' ? (f[k] as string) : '');
  const tokenUri = str('token_uri') || GOOGLE_TOKEN_URL;
  const missing = (keys: string[]) => {
    const absent = keys.filter((k) => str(k) === '');
    if (absent.length > 0) throw new RulesctlError(ErrorCodes.CREDENTIALS, `google: credentials file "${path}" lacks ${absent.join(', ')}`, { hint: HINT });
  };
  if (f.type === 'service_account') {
    missing(['client_email', 'private_key']);
    const assertion = serviceAccountJwt(str('client_email'), str('private_key'), str('private_key_id'), tokenUri, o.now(), path);
    return postToken(o, path, tokenUri, { grant_type: JWT_GRANT, assertion }, signal);
  }
  if (f.type === 'authorized_user') {
    missing(['client_id', 'client_secret', 'refresh_token']);
    const body = { grant_type: 'refresh_token', client_id: str('client_id'), client_secret: str('client_secret'), refresh_token: str('refresh_token') };
    return postToken(o, path, tokenUri, body, signal);
  }
  throw new RulesctlError(ErrorCodes.CREDENTIALS, `google: credentials file "${path}" has unsupported type ${JSON.stringify(String(f.type ?? '')).slice(0, 60)}`, {
    hint: 'use a service_account key or `gcloud auth application-default login` (authorized_user)',
  });
}

/** An RS256-signed JWT-bearer assertion (RFC 7523) for a service account. */
function serviceAccountJwt(email: string, key: string, keyId: string, aud: string, nowMs: number, path: string): string {
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(keyId ? { kid: keyId } : {}) };
  const claims = { iss: email, scope: GCP_SCOPE, aud, iat, exp: iat + 3600 };
  const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  let signature: Buffer;
  try {
    signature = sign('RSA-SHA256', Buffer.from(unsigned), key);
  } catch {
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `google: the private_key of credentials file "${path}" is not a usable RSA key`, { hint: HINT });
  }
  return `${unsigned}.${b64url(signature)}`;
}

function b64url(v: string | Buffer): string {
  return Buffer.from(v).toString('base64url');
}

async function postToken(o: Resolved, path: string, url: string, params: Record<string, string>, signal?: AbortSignal): Promise<Fetched> {
  const where = `google: cannot fetch a token for credentials file "${path}" from ${safeUrl(url)}`;
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  return request(o, where, url, { method: 'POST', headers, body: new URLSearchParams(params).toString() }, signal);
}

async function fromMetadata(o: Resolved, signal?: AbortSignal): Promise<Fetched> {
  const host = o.env.GCE_METADATA_HOST || 'metadata.google.internal';
  const url = `http://${host}/computeMetadata/v1/instance/service-accounts/default/token?scopes=${encodeURIComponent(GCP_SCOPE)}`;
  const where = `google: could not find default credentials (no GOOGLE_APPLICATION_CREDENTIALS, no gcloud application-default credentials file, and the metadata server ${host}`;
  const timeout = AbortSignal.timeout(METADATA_TIMEOUT_MS);
  const s = signal ? AbortSignal.any([signal, timeout]) : timeout;
  return request(o, where, url, { method: 'GET', headers: { 'Metadata-Flavor': 'Google' } }, s, signal, ')');
}

async function request(o: Resolved, where: string, url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
  signal?: AbortSignal, userSignal: AbortSignal | undefined = signal, close = ''): Promise<Fetched> {
  let res: Awaited<ReturnType<GcpFetchLike>>;
  try {
    res = await o.fetch(url, { ...init, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (userSignal?.aborted) throw new RulesctlError(ErrorCodes.ABORTED, `${where}${close}: aborted`, { cause: err });
    // undici's request() puts `code` on the error, fetch() on its `cause` (a DOMException's code is a number).
    const e = err as { code?: unknown; name?: string; cause?: { code?: unknown } };
    const why = [e.code, e.cause?.code].find((c) => typeof c === 'string') ?? (e.name === 'TimeoutError' ? 'timed out' : 'request failed');
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `${where}${close ? ' is unreachable' : ''}: ${why}${close}`, { hint: HINT });
  }
  const text = await res.text();
  let fields: Record<string, unknown> = {};
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null) fields = v as Record<string, unknown>;
  } catch { /* not JSON */ }
  if (res.status < 200 || res.status > 299) {
    const code = typeof fields.error === 'string' ? ` (${fields.error.slice(0, 80)})` : '';
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `${where}${close ? ' answered' : ''}: HTTP ${res.status}${code}${close}`, { hint: HINT, details: { status: res.status } });
  }
  if (typeof fields.access_token !== 'string' || fields.access_token === '') {
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `${where}${close ? ' answered' : ''}: response missing access_token${close}`, { hint: HINT });
  }
  return { token: fields.access_token, expiresIn: Number(fields.expires_in ?? 0) || 0 };
}
