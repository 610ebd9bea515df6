import { ErrorCodes, RulesctlError } from '../../errors.js';
import type { Credential } from './types.js';
import { redactUrl } from './redact.js';
import type { RawRequest, RawResponse } from '../registry/transport.js';
import { networkError, readErrorBody, registryError } from '../registry/errors.js';

/** A bearer token and when to stop using it (epoch ms). */
export interface Token {
  token: string;
  expiresAt: number;
}

export interface TokenRequest {
  realm: string;
  service?: string;
  scopes: string[];
  /** Basic credentials or an identity token; undefined = anonymous. */
  credential?: Credential;
  signal?: AbortSignal;
}

export type RawSend = (req: RawRequest) => Promise<RawResponse>;

/** Spec default when `expires_in` is missing, and the minimum honoured (token.md). */
const MIN_EXPIRES_S = 60;
/** Refresh a little before the server's deadline. */
const EXPIRY_MARGIN_MS = 5_000;
const MAX_TOKEN_BODY = 1024 * 1024;

/**
 * Fetches a bearer token from a token realm: `GET realm?service=&scope=…` (anonymous or Basic), or
 * for an identity token `POST realm` with a `refresh_token` grant (distribution docs/spec/auth/
 * token.md and oauth.md). Errors: ERR_UNAUTHORIZED when the issuer rejects the credentials.
 */
export async function fetchToken(send: RawSend, req: TokenRequest, now: () => number = Date.now): Promise<Token> {
  const url = new URL(req.realm);
  const headers: Record<string, string> = { accept: 'application/json' };
  let method = 'GET';
  let body: string | undefined;
  if (req.credential?.kind === 'identity-token') {
    method = 'POST';
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: 'rulesctl', refresh_token: req.credential.token });
    if (req.service) form.set('service', req.service);
    if (req.scopes.length) form.set('scope', req.scopes.join(' '));
    body = form.toString();
  } else {
    if (req.service) url.searchParams.set('service', req.service);
    for (const s of req.scopes) url.searchParams.append('scope', s);
    if (req.credential?.kind === 'basic') {
      headers['authorization'] = `Basic ${Buffer.from(`${req.credential.username}:${req.credential.password}`).toString('base64')}`;
    }
  }
  // A connection or TLS failure names the token server (it may be another host than the registry).
  const res = await send({ method, url, headers, ...(body === undefined ? {} : { body, secretBody: true }), ...(req.signal ? { signal: req.signal } : {}) })
    .catch((err: unknown) => { throw networkError(err, method, url); });
  if (res.status !== 200) {
    const text = await readErrorBody(res.body);
    const err = registryError({ method, url, status: res.status, body: text, action: `requesting a token from ${redactUrl(url)}` });
    if (res.status === 401 || res.status === 403) {
      throw new RulesctlError(ErrorCodes.UNAUTHORIZED, err.message, {
        details: err.details, hint: 'the token server rejected the credentials: log in again with "rulesctl registry auth basic"',
      });
    }
    throw err;
  }
  return parseTokenResponse(await readLimited(res.body), url, now);
}

async function readLimited(body: RawResponse['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_TOKEN_BODY) {
      body.destroy();
      throw new RulesctlError(ErrorCodes.REGISTRY, 'token response larger than 1 MiB');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses `{token|access_token, expires_in?, issued_at?}`. */
export function parseTokenResponse(text: string, url: URL, now: () => number = Date.now): Token {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new RulesctlError(ErrorCodes.REGISTRY, `token response from ${redactUrl(url)} is not JSON`);
  }
  const token = typeof parsed['access_token'] === 'string' && parsed['access_token'] ? parsed['access_token']
    : typeof parsed['token'] === 'string' ? parsed['token'] : '';
  if (!token) throw new RulesctlError(ErrorCodes.REGISTRY, `token response from ${redactUrl(url)} has no token`);
  const expiresIn = typeof parsed['expires_in'] === 'number' && parsed['expires_in'] > MIN_EXPIRES_S ? parsed['expires_in'] : MIN_EXPIRES_S;
  const issued = typeof parsed['issued_at'] === 'string' ? Date.parse(parsed['issued_at']) : NaN;
  const start = Number.isNaN(issued) || issued > now() ? now() : issued;
  return { token, expiresAt: start + expiresIn * 1000 - EXPIRY_MARGIN_MS };
}

/**
 * Normalises scopes: merges actions per `type:name`, sorts. Names may contain `host:port`, so the
 * type ends at the first `:` and the actions start after the last (scope.md).
 */
export function mergeScopes(scopes: string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const scope of scopes) {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first < 0 || last <= first) {
      byResource.set(scope, byResource.get(scope) ?? new Set());
      continue;
    }
    const resource = scope.slice(0, last);
    const actions = byResource.get(resource) ?? new Set<string>();
    for (const a of scope.slice(last + 1).split(',')) if (a) actions.add(a);
    byResource.set(resource, actions);
  }
  return [...byResource.entries()]
    .map(([resource, actions]) => (actions.size ? `${resource}:${[...actions].sort().join(',')}` : resource))
    .sort();
}

/** `repository:<name>:<actions>` */
export function repositoryScope(repository: string, ...actions: string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}
