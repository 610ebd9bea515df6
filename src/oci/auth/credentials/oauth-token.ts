import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { Credential } from '../types.js';
import type { ClientCredentialsConfig } from './oauth.js';
import { safeUrl } from '../redact.js';

/** The part of WHATWG fetch the token source uses (`fetchVia(dispatcher)` from src/util/undici.ts fits). */
export type FetchLike = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; signal?: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface TokenSourceOptions {
  fetch: FetchLike;
  /** Clock in ms, injected for tests. */
  now?: () => number;
}

/** Fetches (and caches until expiry) a client-credentials access token as a `bearer` Credential. */
export type ClientCredentialsTokenSource = (config: ClientCredentialsConfig, opts?: { signal?: AbortSignal }) => Promise<Credential>;

/** golang.org/x/oauth2 treats a token as expired 10 s early. */
const EXPIRY_DELTA_MS = 10_000;

/**
 * OAuth2 client-credentials grant (RFC 6749 §4.4) as golang.org/x/oauth2/clientcredentials does
 * it: POST `grant_type=client_credentials` (+ `scope` space-joined, + EndpointParams) to TokenURL,
 * client auth in a Basic header (AuthStyle 2; 0 tries the header, then the params on 400/401)
 * or in the body (AuthStyle 1). Tokens without `expires_in` are cached for the process.
 * Errors quote the token URL and the server's `error` code, never the secret or the token.
 */
export function createClientCredentialsTokenSource(options: TokenSourceOptions): ClientCredentialsTokenSource {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { token: string; expiresAt: number }>();
  return async (config, opts = {}) => {
    const cacheKey = JSON.stringify([config.TokenURL, config.ClientID, config.Scopes ?? [], config.EndpointParams ?? {}]);
    const hit = cache.get(cacheKey);
    if (hit !== undefined && now() < hit.expiresAt - EXPIRY_DELTA_MS) return { kind: 'bearer', token: hit.token };
    const styles = config.AuthStyle === 1 ? ['params'] : config.AuthStyle === 2 ? ['header'] : ['header', 'params'];
    let lastError: RulesctlError | undefined;
    for (const style of styles) {
      const r = await requestToken(options.fetch, config, style as 'header' | 'params', opts.signal);
      if ('token' in r) {
        cache.set(cacheKey, { token: r.token, expiresAt: r.expiresIn > 0 ? now() + r.expiresIn * 1000 : Number.POSITIVE_INFINITY });
        return { kind: 'bearer', token: r.token };
      }
      lastError = r.error;
      if (r.status !== 400 && r.status !== 401) break;
    }
    throw lastError as RulesctlError;
  };
}

type TokenResult = { token: string; expiresIn: number } | { error: RulesctlError; status: number };

async function requestToken(fetch: FetchLike, c: ClientCredentialsConfig, style: 'header' | 'params', signal?: AbortSignal): Promise<TokenResult> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (c.Scopes && c.Scopes.length > 0) body.set('scope', c.Scopes.join(' '));
  for (const [k, vs] of Object.entries(c.EndpointParams ?? {})) for (const v of vs) body.append(k, v);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (style === 'header') {
    const basic = `${encodeURIComponent(c.ClientID)}:${encodeURIComponent(c.ClientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
  } else {
    body.set('client_id', c.ClientID);
    body.set('client_secret', c.ClientSecret);
  }
  const where = `oauth2: cannot fetch token from ${JSON.stringify(safeUrl(c.TokenURL))}`;
  let res: Awaited<ReturnType<FetchLike>>;
  try {
    res = await fetch(c.TokenURL, { method: 'POST', headers, body: body.toString(), ...(signal ? { signal } : {}) });
  } catch (err) {
    const code = signal?.aborted ? ErrorCodes.ABORTED : ErrorCodes.NETWORK;
    // undici's request() puts `code` on the error, fetch() on its `cause` (a DOMException's code is a number).
    const e = err as { code?: unknown; name?: string; cause?: { code?: unknown } };
    const why = [e.code, e.cause?.code].find((c) => typeof c === 'string') ?? (e.name === 'TimeoutError' ? 'timed out' : 'request failed');
    return { status: 0, error: new RulesctlError(code, `${where}: ${why}`, { cause: err }) };
  }
  const text = await res.text();
  const fields = parseTokenBody(text, res.headers.get('content-type') ?? '');
  if (res.status < 200 || res.status > 299) {
    const oauthError = typeof fields.error === 'string' ? ` (${fields.error.slice(0, 80)})` : '';
    return { status: res.status, error: new RulesctlError(ErrorCodes.UNAUTHORIZED, `${where}: HTTP ${res.status}${oauthError}`, { hint: 'check the client ID, client secret and token URL' }) };
  }
  if (typeof fields.access_token !== 'string' || fields.access_token === '') {
    return { status: res.status, error: new RulesctlError(ErrorCodes.CREDENTIALS, `${where}: server response missing access_token`) };
  }
  return { token: fields.access_token, expiresIn: Number(fields.expires_in ?? 0) || 0 };
}

function parseTokenBody(text: string, contentType: string): Record<string, unknown> {
  if (contentType.includes('application/x-www-form-urlencoded') || contentType.includes('text/plain')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
