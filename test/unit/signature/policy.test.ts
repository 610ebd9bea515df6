import { describe, expect, it } from 'vitest';
import { checkIdentity, describePolicy, parseCosignPolicy, type KeylessPolicy } from '../../../src/signature/policy.js';

const falcoRules = {
  'certificate-oidc-issuer': 'https://token.actions.githubusercontent.com',
  'certificate-oidc-issuer-regexp': '',
  'certificate-identity': '',
  'certificate-identity-regexp': 'https://github.com/falcosecurity/rules/',
  'certificate-github-workflow': '',
  key: '',
  'ignore-tlog': false,
};

describe('parseCosignPolicy', () => {
  it('returns undefined without a block (no verification)', () => {
    expect(parseCosignPolicy(undefined)).toBeUndefined();
    expect(parseCosignPolicy(null)).toBeUndefined();
  });

  it('maps the falco-rules index entry to a keyless policy, empty strings as unset', () => {
    const p = parseCosignPolicy(falcoRules) as KeylessPolicy;
    expect(p.kind).toBe('keyless');
    expect(p.issuer).toBe('https://token.actions.githubusercontent.com');
    expect(p.identity).toBeUndefined();
    expect(p.identityRegexp?.source).toBe('https:\\/\\/github.com\\/falcosecurity\\/rules\\/');
    expect(p.ignoreTlog).toBe(false);
    expect(describePolicy(p)).toBe('keyless identity ~ /https://github.com/falcosecurity/rules//, issuer = https://token.actions.githubusercontent.com');
  });

  it('switches to key-based verification when key is set, keeping ignore-tlog', () => {
    const p = parseCosignPolicy({ ...falcoRules, key: '/etc/keys/cosign.pub', 'ignore-tlog': true });
    expect(p).toEqual({ kind: 'key', keyRef: '/etc/keys/cosign.pub', ignoreTlog: true });
    expect(describePolicy(p!)).toBe('key /etc/keys/cosign.pub, ignore-tlog');
  });

  it('never prints an inline PEM key', () => {
    const p = parseCosignPolicy({ key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' });
    expect(describePolicy(p!)).toBe('key inline PEM public key');
  });

  it('keeps certificate-github-workflow without enforcing it', () => {
    const p = parseCosignPolicy({ ...falcoRules, 'certificate-github-workflow': 'release' }) as KeylessPolicy;
    expect(p.githubWorkflow).toBe('release');
    expect(checkIdentity(p, 'https://github.com/falcosecurity/rules/.github/workflows/x.yaml@refs/tags/v1', 'https://token.actions.githubusercontent.com')).toBeUndefined();
  });

  it('refuses keyless blocks without identity or issuer, and bad regexps', () => {
    expect(() => parseCosignPolicy({ 'certificate-oidc-issuer': 'x' })).toThrow(/certificate-identity/);
    expect(() => parseCosignPolicy({ 'certificate-identity': 'x' })).toThrow(/certificate-oidc-issuer/);
    expect(() => parseCosignPolicy({ 'certificate-identity-regexp': '(', 'certificate-oidc-issuer': 'x' })).toThrow(
      expect.objectContaining({ code: 'ERR_SIGNATURE' }),
    );
  });
});

describe('checkIdentity', () => {
  const p = parseCosignPolicy(falcoRules) as KeylessPolicy;
  it('matches regexps unanchored, like Go regexp.MatchString', () => {
    expect(checkIdentity(p, 'https://github.com/falcosecurity/rules/.github/workflows/release.yaml@refs/tags/falco-rules-3.0.0', 'https://token.actions.githubusercontent.com')).toBeUndefined();
  });
  it('explains identity and issuer mismatches', () => {
    expect(checkIdentity(p, 'https://github.com/evil/rules/x', 'https://token.actions.githubusercontent.com')).toMatch(/does not match/);
    expect(checkIdentity(p, 'https://github.com/falcosecurity/rules/x', 'https://accounts.google.com')).toMatch(/issuer "https:\/\/accounts.google.com" is not/);
    expect(checkIdentity(p, undefined, 'x')).toMatch(/no subject alternative name/);
  });
  it('compares exact identities exactly', () => {
    const exact = parseCosignPolicy({ 'certificate-identity': 'a@b.c', 'certificate-oidc-issuer-regexp': '^https://github\\.com/login/oauth$' }) as KeylessPolicy;
    expect(checkIdentity(exact, 'a@b.c', 'https://github.com/login/oauth')).toBeUndefined();
    expect(checkIdentity(exact, 'xa@b.c', 'https://github.com/login/oauth')).toMatch(/is not "a@b.c"/);
  });
});
