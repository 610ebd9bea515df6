import { describe, expect, it } from 'vitest';
import { redact, redactHeaders, redactUrl } from '../../../../src/oci/auth/redact.js';

describe('redaction', () => {
  it('removes userinfo and secret query values from URLs', () => {
    const out = redactUrl('https://alice:s3cret@ghcr.io/token?scope=x&access_token=abc&sig=zzz');
    expect(out).not.toContain('s3cret');
    expect(out).not.toContain('alice');
    expect(out).not.toContain('abc');
    expect(out).not.toContain('zzz');
    expect(out).toContain('scope=x');
  });

  it('scrubs free text', () => {
    const text = 'GET https://bob:pw@host/x failed; Authorization: Bearer eyJhbGciOi.x.y and basic YWxpY2U6czNjcmV0';
    const out = redact(text);
    expect(out).not.toMatch(/bob|pw@|eyJhbGciOi|YWxpY2U6czNjcmV0/);
    expect(out).toContain('https://***@host/x');
  });

  it('keeps plain text and e-mail-less URLs intact', () => {
    expect(redact('pulling ghcr.io/a/b:1 from https://ghcr.io/v2/')).toBe('pulling ghcr.io/a/b:1 from https://ghcr.io/v2/');
  });

  it('masks sensitive headers', () => {
    expect(redactHeaders({ Authorization: 'Basic x', accept: 'a' })).toEqual({ Authorization: '***', accept: 'a' });
  });
});
