import { describe, expect, it } from 'vitest';
import { challengeScopes, parseChallenges } from '../../../../src/oci/auth/challenge.js';

describe('parseChallenges', () => {
  it('parses a Bearer challenge with a quoted scope holding commas', () => {
    const [c] = parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:samalba/my-app:pull,push"');
    expect(c).toEqual({ scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:samalba/my-app:pull,push' } });
    expect(challengeScopes(c!)).toEqual(['repository:samalba/my-app:pull,push']);
  });

  it('splits space-separated scopes (mount)', () => {
    const [c] = parseChallenges('Bearer realm="http://127.0.0.1:25010/token",service="test-registry",scope="repository:foo/baz:pull,push repository:foo/bar:pull"');
    expect(challengeScopes(c!)).toEqual(['repository:foo/baz:pull,push', 'repository:foo/bar:pull']);
  });

  it('is case-insensitive on scheme and parameter names', () => {
    expect(parseChallenges('BASIC Realm="test-realm"')).toEqual([{ scheme: 'basic', params: { realm: 'test-realm' } }]);
  });

  it('reads several challenges in one header and in several headers', () => {
    const one = parseChallenges('Basic realm="a, b", Bearer realm="https://x/token",error="invalid_token"');
    expect(one.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(one[0]!.params['realm']).toBe('a, b');
    expect(one[1]!.params['error']).toBe('invalid_token');
    const many = parseChallenges(['Basic realm="r"', 'Bearer realm="https://x/token"']);
    expect(many.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
  });

  it('handles escapes, unquoted tokens, spaces around = and empty input', () => {
    expect(parseChallenges('Bearer realm = "a\\"b" , service=svc')[0]!.params).toEqual({ realm: 'a"b', service: 'svc' });
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges('Negotiate')).toEqual([{ scheme: 'negotiate', params: {} }]);
  });
});
