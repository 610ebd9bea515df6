import { setTimeout as delay } from 'node:timers/promises';
import { requestUrl } from '../util/undici.js';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';

/**
 * Client for Falco's embedded web server (falcoctl.md §11 "Startup", "Falco web server"):
 * `/versions` read before following, `/healthz` before and after a rules swap.
 */

export interface HttpResponse {
  status: number;
  body: string;
}

/** A GET returning status and body text; throws on transport errors only. */
export type HttpGet = (url: string, opts: { signal?: AbortSignal }) => Promise<HttpResponse>;

/** Default `HttpGet` over undici `request`. */
export const undiciGet: HttpGet = async (url, opts) => {
  const res = await requestUrl(url, { method: 'GET', signal: opts.signal, headers: { 'user-agent': 'Go-http-client/1.1' } });
  return { status: res.statusCode, body: await res.body.text() };
};

/** Falco's versions map: only the string values of the `/versions` object are kept. */
export type FalcoVersions = Record<string, string>;

export interface FalcoClientOptions {
  signal?: AbortSignal;
  get?: HttpGet;
  log?: Logger;
  /** Give up when the next retry would wake after this many ms (falcoctl `--timeout`, 2m); 0: one attempt. */
  timeoutMs?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const VERSIONS_PREFIX =
  'unable to retrieve Falco versions, please check if it is running and correctly exposing the version endpoint';

/** falcoctl's backoff: 1 s, then ×1.6 per retry, capped at the timeout. */
export function versionsBackoff(attempt: number, maxMs: number): number {
  return Math.min(Math.round(1000 * 1.6 ** attempt), maxMs);
}

/**
 * GETs `url` (http or https only), retrying transport errors with backoff until the next wake
 * would pass `timeoutMs`. Any HTTP status is accepted; the body must be a JSON object. Throws
 * ERR_USAGE for a bad URL, otherwise ERR_NETWORK / ERR_TIMEOUT / ERR_INVALID_CONFIG prefixed with
 * falcoctl's message.
 */
export async function fetchFalcoVersions(url: string, opts: FalcoClientOptions = {}): Promise<FalcoVersions> {
  checkUrl(url);
  const body = await getWithRetry(url, opts);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw versionsError(ErrorCodes.INVALID_CONFIG, `error unmarshalling: ${(err as Error).message}`, url);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw versionsError(ErrorCodes.INVALID_CONFIG, 'error unmarshalling: expected a JSON object', url);
  }
  const versions: FalcoVersions = {};
  for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') versions[k] = v;
  return versions;
}

async function getWithRetry(url: string, opts: FalcoClientOptions): Promise<string> {
  const get = opts.get ?? undiciGet;
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  const log = opts.log ?? nullLogger;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const start = now();
  log.debug(`Retrieving versions from Falco (timeout ${timeoutMs}ms) ...`);
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await get(url, { signal: opts.signal });
      log.debug('Successfully retrieved versions from Falco');
      return res.body;
    } catch (err) {
      if (opts.signal?.aborted) throw new RulesctlError(ErrorCodes.ABORTED, 'interrupted while retrieving Falco versions');
      const wait = versionsBackoff(attempt, timeoutMs);
      if (timeoutMs <= 0 || now() + wait - start > timeoutMs) {
        throw versionsError(ErrorCodes.TIMEOUT, `unable to get versions from URL "${url}": timeout occurred while retrieving versions from Falco (last error: ${(err as Error).message})`, url);
      }
      log.debug(`error: ${(err as Error).message}. Trying again in ${wait}ms`);
      await sleep(wait, opts.signal);
    }
  }
}

function checkUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new RulesctlError(ErrorCodes.USAGE, `${VERSIONS_PREFIX}: unable to parse URI "${url}": expected an http(s) URL`, {
      hint: 'set --falco-versions to Falco\'s web server, e.g. http://localhost:8765/versions',
    });
  }
}

function versionsError(code: (typeof ErrorCodes)[keyof typeof ErrorCodes], reason: string, url: string): RulesctlError {
  return new RulesctlError(code, `${VERSIONS_PREFIX}: ${reason}`, {
    hint: 'check that Falco runs with webserver.enabled: true and that --falco-versions points at it',
    details: { url },
  });
}

/** Falco's health as `/healthz` shows it. */
export interface FalcoHealth {
  healthy: boolean;
  reason?: string;
  /** No answer because the connection was refused or reset: the web server is down, as while Falco restarts. */
  restarting?: boolean;
}

const RESTARTING_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/**
 * One GET of Falco's `/healthz` (default `http://localhost:8765/healthz`): healthy when it answers
 * 200 with `{"status":"ok"}`. Never throws for an unhealthy or unreachable Falco; `reason` says why.
 */
export async function checkFalcoHealth(url: string, opts: { get?: HttpGet; signal?: AbortSignal } = {}): Promise<FalcoHealth> {
  try {
    const res = await (opts.get ?? undiciGet)(url, { signal: opts.signal });
    if (res.status !== 200) return { healthy: false, reason: `HTTP ${res.status}` };
    const body = JSON.parse(res.body) as { status?: unknown };
    return body.status === 'ok' ? { healthy: true } : { healthy: false, reason: `status ${JSON.stringify(body.status)}` };
  } catch (err) {
    const restarting = RESTARTING_CODES.has(String((err as { code?: unknown }).code));
    return { healthy: false, reason: (err as Error).message, ...(restarting ? { restarting } : {}) };
  }
}

export interface HealthWaitOptions {
  /** How long to wait for a healthy answer (the follow daemon uses its `--timeout`). */
  timeoutMs: number;
  /** Pause between probes (default 500 ms). */
  pollMs?: number;
  /** Answers in a row that are not healthy (an HTTP error, a bad body, a timeout) that end the wait (default 3). */
  unhealthyAnswers?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Probes until Falco is healthy, for the check after a swap. Falco restarts in-process to load new
 * rules and its web server is down meanwhile (falcoctl.md §11 "Falco reload"), so a refused or reset
 * connection (`restarting`) only means "not yet" until `timeoutMs`; answers that are not healthy end
 * the wait after `unhealthyAnswers` in a row. Returns the last health seen; never throws.
 */
export async function waitForFalcoHealth(probe: () => Promise<FalcoHealth>, opts: HealthWaitOptions): Promise<FalcoHealth> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => delay(ms));
  const pollMs = opts.pollMs ?? 500;
  const start = now();
  let answers = 0;
  for (;;) {
    const health = await probe();
    if (health.healthy) return health;
    answers = health.restarting ? 0 : answers + 1;
    if (answers >= (opts.unhealthyAnswers ?? 3)) return health;
    if (now() + pollMs - start > opts.timeoutMs) {
      return { ...health, reason: `${health.reason ?? 'unknown reason'} (no healthy answer within ${opts.timeoutMs} ms)` };
    }
    await sleep(pollMs);
  }
}

/** `/healthz` next to a `/versions` URL (same origin). */
export function healthzUrlFor(versionsUrl: string): string {
  return new URL('/healthz', versionsUrl).toString();
}
