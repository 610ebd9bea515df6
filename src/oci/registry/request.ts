import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Authorization, Authorizer } from '../auth/authorizer.js';
import { redactUrl } from '../auth/redact.js';
import { networkError, readErrorBody, registryError } from './errors.js';
import { backoffDelay, isRetryableError, isRetryableStatus, parseRetryAfter, type RetryPolicy } from './retry.js';
import type { RawResponse, Transport } from './transport.js';

/** Shared state of one client, handed to every resource module. */
export interface ClientContext {
  transport: Transport;
  authorizer: Authorizer;
  retry: RetryPolicy;
  logger: Logger;
  /** `https://host` or `http://host` per the plainHttp setting. */
  baseUrl(registry: string): URL;
  chunkSize?: number;
  signal?: AbortSignal;
  random?: () => number;
}

export interface RegistryRequest {
  method: string;
  /** Path under the registry base (`/v2/...`) or an absolute URL (upload `Location`). */
  url: string | URL;
  headers?: Record<string, string>;
  /** Buffers are replayed on retries; streams are sent once (a failure is final). */
  body?: Uint8Array | Readable;
  /** Token scopes this call needs (`repository:x:pull`). */
  scopes: string[];
  /** Statuses that count as success (default 200). */
  ok?: number[];
  /** Allow retries on 429/5xx/resets (default true when the body is replayable). */
  retry?: boolean;
  /** What is being done, for messages (`fetching manifest "1.0" of host/repo`). */
  action?: string;
  signal?: AbortSignal;
}

/** Joins the caller's signal with the client's. */
export function joinSignals(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const s = signals.filter((x): x is AbortSignal => x !== undefined);
  return s.length <= 1 ? s[0] : AbortSignal.any(s);
}

/**
 * Sends one registry call: authorisation (challenge answered, token refreshed once on
 * `invalid_token`/`insufficient_scope`), anonymous retry of pulls when stored credentials are
 * rejected (registries.md §3.1), retries with backoff on 429/5xx/resets honouring `Retry-After`
 * (§4.5). Returns a response whose status is in `ok`; anything else throws a RegistryError (body
 * consumed).
 */
export async function send(ctx: ClientContext, registry: string, req: RegistryRequest): Promise<RawResponse> {
  const signal = joinSignals(req.signal, ctx.signal);
  const base = ctx.baseUrl(registry);
  const url = typeof req.url === 'string' ? new URL(req.url, base) : req.url;
  const call: Call = {
    ctx, registry, req, signal, url,
    foreign: url.origin !== base.origin,
    replayable: req.body === undefined || req.body instanceof Uint8Array,
    pull: (req.method === 'GET' || req.method === 'HEAD') && req.scopes.length > 0 && req.scopes.every((sc) => sc.endsWith(':pull')),
    anonymous: false, authRounds: 0, retries: 0, auth: { usedCredentials: false },
  };
  call.auth = await ctx.authorizer.authorize(registry, req.scopes, authOpts(call));
  for (;;) {
    const res = await attempt(call);
    if (!res) continue;
    reportWarnings(ctx, res);
    if ((req.ok ?? [200]).includes(res.status)) return res;
    if ((res.status === 401 || res.status === 403) && !res.crossOrigin && !call.foreign) {
      await handleAuthFailure(call, res);
      continue;
    }
    if (await waitBeforeRetry(call, res)) continue;
    throw await failure(call, res, call.replayable ? '' : REPLAY_NOTE);
  }
}

/** State of one `send`. */
interface Call {
  ctx: ClientContext;
  registry: string;
  req: RegistryRequest;
  url: URL;
  /** The URL is not on the registry's origin (an upload Location elsewhere): no credentials go there. */
  foreign: boolean;
  signal: AbortSignal | undefined;
  replayable: boolean;
  /** A read needing only `pull` scopes: may fall back to anonymous. `ping` (no scope) never does, so logins are checked. */
  pull: boolean;
  anonymous: boolean;
  authRounds: number;
  retries: number;
  auth: Authorization;
}

function authOpts(call: Call): { anonymous: boolean; signal?: AbortSignal } {
  return { anonymous: call.anonymous, ...(call.signal ? { signal: call.signal } : {}) };
}

/** One HTTP exchange; undefined when a transient network error was waited out (try again). */
async function attempt(call: Call): Promise<RawResponse | undefined> {
  const { ctx, req } = call;
  const headers = { ...req.headers, ...(call.auth.header && !call.foreign ? { authorization: call.auth.header } : {}) };
  try {
    ctx.logger.trace('registry request', { method: req.method, url: redactUrl(call.url) });
    return await ctx.transport.send({
      method: req.method, url: call.url, headers, ...(req.body ? { body: req.body } : {}), ...(call.signal ? { signal: call.signal } : {}),
    });
  } catch (err) {
    if (call.replayable && req.retry !== false && isRetryableError(err) && call.retries + 1 < ctx.retry.attempts) {
      await pause(call, backoffDelay(call.retries++, ctx.retry, ctx.random), String((err as { code?: string }).code));
      return undefined;
    }
    throw networkError(err, req.method, call.url);
  }
}

/**
 * 401/403 from the registry's own origin: answer the challenge (once, or twice when the token was
 * stale), else retry a pull anonymously when stored credentials were used (registries.md §3.1),
 * else throw. Returns when the call should be re-sent.
 */
async function handleAuthFailure(call: Call, res: RawResponse): Promise<void> {
  const { ctx, registry, req } = call;
  const text = req.method === 'HEAD' ? '' : await readErrorBody(res.body);
  await res.body.dump();
  const www = res.headers['www-authenticate'];
  if (res.status === 401 && call.replayable && (call.authRounds === 0 || (call.authRounds === 1 && retriesOnStaleToken(www)))) {
    const next = await answerChallenge(call, www);
    if (next === 'anonymous') return goAnonymous(call);
    if (next) {
      call.authRounds++;
      call.auth = next;
      return;
    }
  }
  if (call.pull && call.auth.usedCredentials && !call.anonymous) {
    ctx.logger.debug('stored credentials rejected on a pull; retrying anonymously', { registry, status: res.status });
    return goAnonymous(call);
  }
  throw await failure(call, res, call.replayable ? '' : REPLAY_NOTE, text);
}

async function goAnonymous(call: Call): Promise<void> {
  call.anonymous = true;
  call.authRounds = 0;
  call.auth = await call.ctx.authorizer.authorize(call.registry, call.req.scopes, authOpts(call));
}

/** Waits before retrying a 429/5xx when allowed; false when the failure is final. */
async function waitBeforeRetry(call: Call, res: RawResponse): Promise<boolean> {
  const { ctx } = call;
  if (!call.replayable || call.req.retry === false || !isRetryableStatus(res.status) || call.retries + 1 >= ctx.retry.attempts) return false;
  const after = parseRetryAfter(res.headers['retry-after']);
  if (after !== undefined && after > ctx.retry.maxRetryAfterMs) return false;
  await res.body.dump();
  await pause(call, after ?? backoffDelay(call.retries, ctx.retry, ctx.random), String(res.status));
  call.retries++;
  return true;
}

async function answerChallenge(call: Call, www: string | string[] | undefined): Promise<Authorization | undefined | 'anonymous'> {
  try {
    return await call.ctx.authorizer.challenge(call.registry, call.req.scopes, www, authOpts(call));
  } catch (err) {
    // A token server rejecting stored credentials on a pull: try anonymously (public images).
    if (call.pull && !call.anonymous && (err as RulesctlError).code === ErrorCodes.UNAUTHORIZED) return 'anonymous';
    throw err;
  }
}

const REPLAY_NOTE = ' (the upload stream cannot be replayed; retry the command)';

const reported = new WeakMap<ClientContext, Set<string>>();

/** `Warning: 299 - "…"` headers are logged once per client, never acted on (spec "Warnings"). */
function reportWarnings(ctx: ClientContext, res: RawResponse): void {
  const header = res.headers['warning'];
  if (!header) return;
  const seen = reported.get(ctx) ?? new Set<string>();
  reported.set(ctx, seen);
  for (const value of Array.isArray(header) ? header : [header]) {
    const m = /^\s*299\s+\S+\s+"((?:[^"\\]|\\.)*)"/.exec(value);
    if (m && !seen.has(m[1]!)) {
      seen.add(m[1]!);
      ctx.logger.warn('registry warning', { url: redactUrl(res.url), warning: m[1] });
    }
  }
}

function retriesOnStaleToken(www: string | string[] | undefined): boolean {
  const text = Array.isArray(www) ? www.join(',') : www ?? '';
  return /error="?(invalid_token|insufficient_scope)/i.test(text);
}

async function pause(call: Call, ms: number, why: string): Promise<void> {
  call.ctx.logger.debug('retrying registry request', { method: call.req.method, why, waitMs: ms });
  try {
    await sleep(ms, undefined, call.signal ? { signal: call.signal } : {});
  } catch (err) {
    throw new RulesctlError(ErrorCodes.ABORTED, `${call.req.action ?? call.req.method}: aborted`, { cause: err });
  }
}

async function failure(call: Call, res: RawResponse, suffix: string, text?: string): Promise<Error> {
  const { req } = call;
  const body = text ?? (req.method === 'HEAD' ? '' : await readErrorBody(res.body));
  await res.body.dump();
  const err = registryError({ method: req.method, url: res.url, status: res.status, body, registry: call.registry, ...(req.action ? { action: req.action } : {}) });
  if (suffix) err.message += suffix;
  if (res.crossOrigin) err.details['redirectedTo'] = redactUrl(res.url);
  if (res.status === 429) {
    const after = parseRetryAfter(res.headers['retry-after']);
    if (after !== undefined) err.details['retryAfterMs'] = after;
  }
  return err;
}

/** Reads a small response body (manifests, JSON) with a size cap. */
export async function readBody(res: RawResponse, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        res.body.destroy();
        throw new RulesctlError(ErrorCodes.REGISTRY, `${what}: response larger than ${limit} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    throw networkError(err, 'GET', res.url);
  }
  return Buffer.concat(chunks);
}
