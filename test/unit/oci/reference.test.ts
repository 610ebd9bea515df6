import { describe, expect, it } from 'vitest';
import { apiHost, formatReference, manifestReference, parseReference, referenceString } from '../../../src/oci/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['ghcr.io/falcosecurity/rules/falco-rules:3', { registry: 'ghcr.io', repository: 'falcosecurity/rules/falco-rules', tag: '3' }],
    ['127.0.0.1:5000/falco/rules', { registry: '127.0.0.1:5000', repository: 'falco/rules' }],
    ['localhost:5000/a/b:1.0.0-rc.1', { registry: 'localhost:5000', repository: 'a/b', tag: '1.0.0-rc.1' }],
    [`reg.example/a@${D}`, { registry: 'reg.example', repository: 'a', digest: D }],
    [`reg.example/a:1@${D}`, { registry: 'reg.example', repository: 'a', tag: '1', digest: D }],
    ['myorg/rules:1', { registry: 'myorg', repository: 'rules', tag: '1' }],
    ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['index.docker.io/falcosecurity/falcoctl:0.13.0', { registry: 'docker.io', repository: 'falcosecurity/falcoctl', tag: '0.13.0' }],
    ['registry-1.docker.io/x:latest', { registry: 'docker.io', repository: 'library/x', tag: 'latest' }],
    ['[::1]:5000/a/b', { registry: '[::1]:5000', repository: 'a/b' }],
    ['r.io/a__b/c-d/e.f---g', { registry: 'r.io', repository: 'a__b/c-d/e.f---g' }],
  ])('%s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it.each([
    ['falco-rules', 'missing registry'],
    ['/a/b', 'missing registry'],
    ['r.io/Upper/case', 'not a valid repository'],
    ['r.io/a//b', 'not a valid repository'],
    ['r.io/a:-bad', 'not a valid tag'],
    [`r.io/a:${'t'.repeat(129)}`, 'not a valid tag'],
    ['r.io/a@sha256:abc', 'invalid reference'],
    [`r.io/a@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
    ['bad_host!/a', 'not a valid registry host'],
    [`r.io/${'a'.repeat(260)}`, 'exceed 255'],
  ])('rejects %s with ERR_INVALID_REFERENCE quoting the input', (input, why) => {
    expect(() => parseReference(input)).toThrowError(expect.objectContaining({ code: 'ERR_INVALID_REFERENCE', message: expect.stringContaining(why) }));
    expect(() => parseReference(input)).toThrowError(`"${input}"`);
  });

  it('accepts sha512 digests', () => {
    const d = `sha512:${'b'.repeat(128)}`;
    expect(parseReference(`r.io/a@${d}`).digest).toBe(d);
  });
});

describe('formatReference / helpers', () => {
  it('round-trips', () => {
    for (const s of ['ghcr.io/a/b:1', `r.io/a@${D}`, `r.io/a:1@${D}`, '127.0.0.1:5000/x']) {
      expect(formatReference(parseReference(s))).toBe(s);
      expect(referenceString(parseReference(s))).toBe(s);
    }
  });
  it('picks the manifest reference', () => {
    expect(manifestReference({ registry: 'r', repository: 'a' })).toBe('latest');
    expect(manifestReference({ registry: 'r', repository: 'a', tag: '1', digest: D })).toBe(D);
  });
  it('maps docker.io to its API host', () => {
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('ghcr.io')).toBe('ghcr.io');
  });
});
