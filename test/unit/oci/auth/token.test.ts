import { describe, expect, it } from 'vitest';
import { mergeScopes, parseTokenResponse } from '../../../../src/oci/auth/token.js';

const url = new URL('https://auth.example/token');

describe('token responses', () => {
  it('prefers access_token, defaults expiry to 60 s and never less', () => {
    const now = () => 1_000_000;
    expect(parseTokenResponse('{"token":"t","access_token":"a"}', url, now)).toEqual({ token: 'a', expiresAt: 1_000_000 + 55_000 });
    expect(parseTokenResponse('{"token":"t","expires_in":10}', url, now).expiresAt).toBe(1_055_000);
    expect(parseTokenResponse('{"token":"t","expires_in":300}', url, now).expiresAt).toBe(1_295_000);
  });

  it('rejects non-JSON and token-less answers', () => {
    expect(() => parseTokenResponse('<html>', url)).toThrowError(/not JSON/);
    expect(() => parseTokenResponse('{}', url)).toThrowError(/no token/);
  });
});

describe('mergeScopes', () => {
  it('merges actions per resource and sorts', () => {
    expect(mergeScopes(['repository:a/b:push', 'repository:a/b:pull', 'repository:c:pull'])).toEqual(['repository:a/b:pull,push', 'repository:c:pull']);
  });
  it('keeps host:port inside names', () => {
    expect(mergeScopes(['repository:localhost:5000/a:pull', 'repository:localhost:5000/a:push'])).toEqual(['repository:localhost:5000/a:pull,push']);
  });
  it('is order-independent (cache key)', () => {
    expect(mergeScopes(['repository:x:push,pull'])).toEqual(mergeScopes(['repository:x:pull,push']));
  });
});
