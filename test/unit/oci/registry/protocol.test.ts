import { describe, expect, it } from 'vitest';
import { parseOciErrors, registryError } from '../../../../src/oci/registry/errors.js';
import { referrersTag } from '../../../../src/oci/registry/referrers.js';
import { nextLink } from '../../../../src/oci/registry/tags.js';

describe('Link pagination', () => {
  it('finds rel="next" among several links', () => {
    expect(nextLink('</v2/a/tags/list?last=b&n=2>; rel="next"')).toBe('/v2/a/tags/list?last=b&n=2');
    expect(nextLink('<https://x/prev>; rel="prev", <https://x/next?a=1,2>; rel=next')).toBe('https://x/next?a=1,2');
    expect(nextLink(undefined)).toBeUndefined();
    expect(nextLink('<https://x/prev>; rel="prev"')).toBeUndefined();
  });
});

describe('referrers tag schema', () => {
  it('maps a digest to <alg>-<hex>', () => {
    expect(referrersTag(`sha256:${'0'.repeat(64)}`)).toBe(`sha256-${'0'.repeat(64)}`);
    expect(referrersTag(`sha512:${'f'.repeat(128)}`)).toBe(`sha512-${'f'.repeat(64)}`);
  });
});

describe('registry errors', () => {
  it('parses OCI error bodies and tolerates HTML', () => {
    expect(parseOciErrors('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}'))
      .toEqual([{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x' } }]);
    expect(parseOciErrors('<html><body>502 Bad Gateway</body></html>')).toEqual([]);
    expect(parseOciErrors('')).toEqual([]);
  });

  it.each([
    [404, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', 'ERR_NOT_FOUND'],
    [404, '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}', 'ERR_NOT_FOUND'],
    [401, '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', 'ERR_UNAUTHORIZED'],
    [403, '{"errors":[{"code":"DENIED","message":"denied"}]}', 'ERR_DENIED'],
    [429, '<html>Too Many Requests</html>', 'ERR_REGISTRY'],
    [500, 'oops', 'ERR_REGISTRY'],
  ])('%i %s → %s with a hint', (status, body, code) => {
    const err = registryError({ method: 'GET', url: 'https://u:p@r.io/v2/a/manifests/1?access_token=zzz', status, body, registry: 'r.io' });
    expect(err.code).toBe(code);
    expect(err.details.status).toBe(status);
    expect(err.details.url).not.toMatch(/u:p|zzz/);
    expect(err.message).not.toMatch(/u:p|zzz/);
    if (status === 401) expect(err.hint).toContain('rulesctl registry auth basic r.io');
    if (status === 429) expect(err.hint).toContain('TOOMANYREQUESTS');
  });
});
