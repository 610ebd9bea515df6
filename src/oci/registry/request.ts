import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Authorizer } from '../auth/authorizer.js';
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
  const url = typeof req.url === 'string' ? new URL(req.url, ctx.baseUrl(registry)) : req.url;
  const signal = joinSignals(req.signal, ctx.signal);
  const replayable = req.body === undefined || req.body instanceof Uint8Array;
  const canRetry = replayable && req.retry !== false;
  const pull = req.method === 'GET' || req.method === 'HEAD';
  const ok = req.ok ?? [200];
  let anonymous = false;
  let authRounds = 0;
  let retries = 0;
  let auth = await ctx.authorizer.authorize(registry, req.scopes, { anonymous, ...(signal ? { signal } : {}) });
  for (;;) {
    let res: RawResponse;
    const headers = { ...req.headers, ...(auth.header ? { authorization: auth.header } : {}) };
    try {
      ctx.logger.trace('registry request', { method: req.method, url: redactUrl(url) });
      res = await ctx.transport.send({ method: req.method, url, headers, ...(req.body ? { body: req.body } : {}), ...(signal ? { signal } : {}) });
    } catch (err) {
      if (canRetry && isRetryableError(err) && retries + 1 < ctx.retry.attempts) {
        await pause(ctx, backoffDelay(retries++, ctx.retry, ctx.random), signal, req, String((err as { code?: string }).code));
        continue;
      }
      throw networkError(err, req.method, url);
    }
    reportWarnings(ctx, res);
    if (ok.includes(res.status)) return res;

    if ((res.status === 401 || res.status === 403) && !res.crossOrigin) {
      const text = req.method === 'HEAD' ? '' : await readErrorBody(res.body);
      await res.body.dump();
      const www = res.headers['www-authenticate'];
      if (res.status === 401 && replayable && (authRounds === 0 || (authRounds === 1 && retriesOnStaleToken(www)))) {
        const next = await answerChallenge(ctx, registry, req, www, anonymous, signal);
        if (next === 'anonymous') {
          [anonymous, authRounds] = [true, 0];
          auth = await ctx.authorizer.authorize(registry, req.scopes, { anonymous, ...(signal ? { signal } : {}) });
          continue;
        }
        if (next) {
          authRounds++;
          auth = next;
          continue;
        }
      }
      if (pull && auth.usedCredentials && !anonymous) {
        // Stored credentials rejected on a pull: public content may still be readable (registries.md §3.1).
        ctx.logger.debug('stored credentials rejected on a pull; retrying anonymously', { registry, status: res.status });
        [anonymous, authRounds] = [true, 0];
        auth = await ctx.authorizer.authorize(registry, req.scopes, { anonymous, ...(signal ? { signal } : {}) });
        continue;
      }
      throw await failure(ctx, registry, req, url, res, replayable ? '' : REPLAY_NOTE, text);
    }
    if (canRetry && isRetryableStatus(res.status) && retries + 1 < ctx.retry.attempts) {
      const wait = retryWait(ctx, res, retries);
      if (wait !== undefined) {
        await res.body.dump();
        await pause(ctx, wait, signal, req, String(res.status));
        retries++;
        continue;
      }
    }
    throw await failure(ctx, registry, req, url, res, replayable ? '' : REPLAY_NOTE);
  }
}

async function answerChallenge(
  ctx: ClientContext, registry: string, req: RegistryRequest, www: string | string[] | undefined,
  anonymous: boolean, signal: AbortSignal | undefined,
): Promise<Awaited<ReturnType<ClientContext['authorizer']['challenge']>> | 'anonymous'> {
  try {
    return await ctx.authorizer.challenge(registry, req.scopes, www, { anonymous, ...(signal ? { signal } : {}) });
  } catch (err) {
    // A token server rejecting stored credentials on a pull: try anonymously (public images).
    const pull = req.method === 'GET' || req.method === 'HEAD';
    if (pull && !anonymous && (err as RulesctlError).code === ErrorCodes.UNAUTHORIZED) return 'anonymous';
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

function retryWait(ctx: ClientContext, res: RawResponse, retries: number): number | undefined {
  const after = parseRetryAfter(res.headers['retry-after']);
  if (after === undefined) return backoffDelay(retries, ctx.retry, ctx.random);
  return after <= ctx.retry.maxRetryAfterMs ? after : undefined;
}

async function pause(ctx: ClientContext, ms: number, signal: AbortSignal | undefined, req: RegistryRequest, why: string): Promise<void> {
  ctx.logger.debug('retrying registry request', { method: req.method, why, waitMs: ms });
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    throw new RulesctlError(ErrorCodes.ABORTED, `${req.action ?? req.method}: aborted`, { cause: err });
  }
}

async function failure(ctx: ClientContext, registry: string, req: RegistryRequest, url: URL, res: RawResponse, suffix: string, text?: string): Promise<Error> {
  const body = text ?? (req.method === 'HEAD' ? '' : await readErrorBody(res.body));
  await res.body.dump();
  const err = registryError({ method: req.method, url: res.url ?? url, status: res.status, body, registry, ...(req.action ? { action: req.action } : {}) });
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
