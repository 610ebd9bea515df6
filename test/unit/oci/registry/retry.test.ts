import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, isRetryableError, isRetryableStatus, parseRetryAfter } from '../../../../src/oci/registry/retry.js';

describe('retry policy', () => {
  it('retries 408, 429 and transient 5xx only', () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([200, 400, 401, 403, 404, 416, 501].some(isRetryableStatus)).toBe(false);
  });

  it('retries connection resets, also when wrapped', () => {
    expect(isRetryableError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryableError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }))).toBe(true);
    expect(isRetryableError(new Error('wrap', { cause: Object.assign(new Error('x'), { code: 'EPIPE' }) }))).toBe(true);
    expect(isRetryableError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe(false);
    expect(isRetryableError(new Error('plain'))).toBe(false);
  });

  it('backs off exponentially with full jitter, capped', () => {
    const p = { ...DEFAULT_RETRY, baseMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, p, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(3, p, () => 0)).toBe(0);
    expect(backoffDelay(2, p, () => 0.5)).toBe(200);
  });

  it('parses Retry-After seconds and HTTP-dates', () => {
    const now = Date.parse('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:40 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(['5'], now)).toBe(5000);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-3', now)).toBeUndefined();
  });
});
