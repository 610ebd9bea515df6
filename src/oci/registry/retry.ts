/**
 * Retry policy for registry requests: which failures are transient, how long to wait.
 * Exponential backoff with full jitter, bounded attempts, `Retry-After` honoured up to a cap
 * (RFC 9110 §10.2.3; registries.md §4.5 and §3.1 rate limits).
 */
export interface RetryPolicy {
  /** Total tries including the first (>= 1). Default 4. */
  attempts: number;
  /** First backoff step in ms. Default 200. */
  baseMs: number;
  /** Largest backoff step in ms. Default 10 s. */
  maxMs: number;
  /** Longest `Retry-After` honoured; a server asking for more fails at once. Default 60 s. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseMs: 200, maxMs: 10_000, maxRetryAfterMs: 60_000 };

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** 408, 429 and the 5xx that signal a transient server or gateway problem. */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT',
  // The connection closed before Content-Length bytes arrived: a truncated transfer.
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** Connection-level failures worth another try (resets, refused, DNS hiccups, closed sockets). */
export function isRetryableError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return true;
  }
  return false;
}

/** Backoff before retry number `retry` (0-based): uniform in [0, min(maxMs, baseMs·2^retry)]. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** retry);
  return Math.round(ceiling * random());
}

/**
 * Parses `Retry-After` as delay-seconds or an HTTP-date; returns ms to wait (>= 0) or undefined
 * when absent or malformed.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // HTTP-date (IMF-fixdate and obsolete forms) always names a day or month; Date.parse alone takes "-3" as a year.
  const at = /[a-z]{3}/i.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
