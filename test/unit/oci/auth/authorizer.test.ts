import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createAuthorizer } from '../../../../src/oci/auth/authorizer.js';
import type { Credential } from '../../../../src/oci/auth/types.js';
import { nullLogger } from '../../../../src/log.js';
import type { RawRequest, RawResponse } from '../../../../src/oci/registry/transport.js';

/** A token realm stand-in: records requests, answers with a counter token. */
function fakeRealm(status = 200, expiresIn?: number) {
  const requests: RawRequest[] = [];
  let n = 0;
  const send = async (req: RawRequest): Promise<RawResponse> => {
    requests.push(req);
    n++;
    const body = status === 200 ? JSON.stringify({ token: `t${n}`, ...(expiresIn ? { expires_in: expiresIn } : {}) }) : '{"details":"bad"}';
    return { status, headers: {}, body: Readable.from([Buffer.from(body)]) as unknown as RawResponse['body'], url: req.url, crossOrigin: false };
  };
  return { requests, send };
}

const BEARER = 'Bearer realm="https://auth.example/token",service="reg.example"';
const scope = ['repository:a/b:pull'];

function authorizer(send: ReturnType<typeof fakeRealm>['send'], cred?: Credential, now = () => 0, allowPlainHttp = false) {
  return createAuthorizer({ credentials: async () => cred, send, logger: nullLogger, allowPlainHttp: () => allowPlainHttp, now });
}

describe('authorizer', () => {
  it('fetches a token on a challenge with Basic credentials and all scopes, then serves it from cache until expiry', async () => {
    const realm = fakeRealm(200, 120);
    let clock = 1_000;
    const auth = authorizer(realm.send, { kind: 'basic', username: 'alice', password: 's3cret' }, () => clock);
    expect(await auth.authorize('reg.example', scope)).toEqual({ usedCredentials: false });
    const got = await auth.challenge('reg.example', scope, `${BEARER},scope="repository:a/b:pull,push"`);
    expect(got).toEqual({ header: 'Bearer t1', usedCredentials: true });
    const url = realm.requests[0]!.url;
    expect(url.searchParams.get('service')).toBe('reg.example');
    expect(url.searchParams.getAll('scope')).toEqual(['repository:a/b:pull,push']);
    expect(realm.requests[0]!.headers['authorization']).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);

    expect((await auth.authorize('reg.example', scope)).header).toBe('Bearer t1');
    expect(realm.requests).toHaveLength(1);
    // Another scope set: its own token, fetched proactively from the known realm.
    expect((await auth.authorize('reg.example', ['repository:a/b:push', 'repository:a/b:pull'])).header).toBe('Bearer t2');
    expect((await auth.authorize('reg.example', ['repository:a/b:pull,push'])).header).toBe('Bearer t2');
    clock += 120_000;
    expect((await auth.authorize('reg.example', scope)).header).toBe('Bearer t3');
  });

  it('keeps anonymous and credentialed tokens apart', async () => {
    const realm = fakeRealm();
    const auth = authorizer(realm.send, { kind: 'basic', username: 'u', password: 'p' });
    await auth.challenge('reg.example', scope, BEARER);
    const anon = await auth.authorize('reg.example', scope, { anonymous: true });
    expect(anon).toEqual({ header: 'Bearer t2', usedCredentials: false });
    expect(realm.requests[1]!.headers['authorization']).toBeUndefined();
  });

  it('exchanges an identity token with a refresh_token grant (POST form)', async () => {
    const realm = fakeRealm();
    const auth = authorizer(realm.send, { kind: 'identity-token', token: 'refresh-me' });
    await auth.challenge('reg.example', ['repository:a/b:pull', 'repository:c:pull'], BEARER);
    const req = realm.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(String(req.body));
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'refresh_token', client_id: 'rulesctl', refresh_token: 'refresh-me', service: 'reg.example', scope: 'repository:a/b:pull repository:c:pull',
    });
  });

  it('answers Basic challenges with Basic credentials, and gives up without any', async () => {
    const realm = fakeRealm();
    const withCreds = authorizer(realm.send, { kind: 'basic', username: 'u', password: 'p' });
    expect(await withCreds.challenge('r', scope, 'Basic realm="x"')).toEqual({ header: `Basic ${Buffer.from('u:p').toString('base64')}`, usedCredentials: true });
    expect((await withCreds.authorize('r', scope)).header).toMatch(/^Basic /);
    expect(await authorizer(realm.send).challenge('r', scope, 'Basic realm="x"')).toBeUndefined();
    expect(realm.requests).toHaveLength(0);
  });

  it('sends a registry bearer token as is', async () => {
    const auth = authorizer(fakeRealm().send, { kind: 'bearer', token: 'opaque' });
    expect(await auth.authorize('r', scope)).toEqual({ header: 'Bearer opaque', usedCredentials: true });
  });

  it('refuses to send credentials to a plain-HTTP realm unless the registry is plain HTTP', async () => {
    const realm = fakeRealm();
    const http = 'Bearer realm="http://auth.example/token",service="s"';
    const cred: Credential = { kind: 'basic', username: 'u', password: 'p' };
    await expect(authorizer(realm.send, cred).challenge('r', scope, http)).rejects.toMatchObject({ code: 'ERR_PLAIN_HTTP_REFUSED' });
    expect(realm.requests).toHaveLength(0);
    expect((await authorizer(realm.send, cred, () => 0, true).challenge('r', scope, http))?.header).toBe('Bearer t1');
    expect((await authorizer(realm.send).challenge('r', scope, http))?.header).toBe('Bearer t2');
  });

  it('reports a rejecting token server as ERR_UNAUTHORIZED without leaking the password', async () => {
    const auth = authorizer(fakeRealm(401).send, { kind: 'basic', username: 'u', password: 'hunter2' });
    const err = (await auth.challenge('r', scope, BEARER).catch((e: unknown) => e)) as Error & { code: string };
    expect(err).toMatchObject({ code: 'ERR_UNAUTHORIZED' });
    expect(JSON.stringify({ ...err, message: err.message })).not.toContain('hunter2');
  });

  describe('rotated credentials (a long-lived client: the follow daemon)', () => {
    /** A token server that accepts only `password`, and a credential source returning `current` (counted). */
    function rotating() {
      const state = { accepted: 'old', current: 'old', lookups: 0 };
      const requests: string[] = [];
      let n = 0;
      const send = async (req: RawRequest): Promise<RawResponse> => {
        const pw = Buffer.from(String(req.headers['authorization']).replace(/^Basic /, ''), 'base64').toString().split(':')[1];
        requests.push(pw!);
        const ok = pw === state.accepted;
        const body = ok ? JSON.stringify({ token: `t${++n}`, expires_in: 60 }) : '{}';
        return { status: ok ? 200 : 401, headers: {}, body: Readable.from([Buffer.from(body)]) as unknown as RawResponse['body'], url: req.url, crossOrigin: false };
      };
      let clock = 0;
      const auth = createAuthorizer({
        credentials: async () => { state.lookups++; return { kind: 'basic', username: 'u', password: state.current }; },
        send, logger: nullLogger, allowPlainHttp: () => false, now: () => clock,
      });
      return { state, requests, auth, tick: (ms: number) => { clock += ms; } };
    }

    it('looks the credentials up again when the token server rejects the kept ones, and uses the new ones', async () => {
      const r = rotating();
      expect((await r.auth.challenge('reg', scope, BEARER))?.header).toBe('Bearer t1');
      // An hour later: the token expired, the old password was rotated away.
      r.tick(3_600_000);
      r.state.accepted = 'new';
      r.state.current = 'new';
      expect((await r.auth.authorize('reg', scope)).header).toBe('Bearer t2');
      expect(r.requests).toEqual(['old', 'old', 'new']);
      expect(r.state.lookups).toBe(2);
    });

    it('gives up after one more lookup when the credentials did not change', async () => {
      const r = rotating();
      await r.auth.challenge('reg', scope, BEARER);
      r.tick(3_600_000);
      r.state.accepted = 'new';
      await expect(r.auth.authorize('reg', scope)).rejects.toMatchObject({ code: 'ERR_UNAUTHORIZED' });
      expect(r.requests).toEqual(['old', 'old']);
      expect(r.state.lookups).toBe(2);
    });

    it('answers a second Basic challenge with credentials looked up again', async () => {
      let current = 'old';
      let lookups = 0;
      const auth = createAuthorizer({
        credentials: async () => { lookups++; return { kind: 'basic', username: 'u', password: current }; },
        send: fakeRealm().send, logger: nullLogger, allowPlainHttp: () => false,
      });
      const basic = (pw: string) => `Basic ${Buffer.from(`u:${pw}`).toString('base64')}`;
      expect((await auth.challenge('reg', scope, 'Basic realm="r"'))?.header).toBe(basic('old'));
      expect((await auth.authorize('reg', scope)).header).toBe(basic('old'));
      expect(lookups).toBe(1);
      current = 'new';
      // The registry refused 'old' (it challenges again): the next answer is the rotated password.
      expect((await auth.challenge('reg', scope, 'Basic realm="r"'))?.header).toBe(basic('new'));
      expect(lookups).toBe(2);
    });
  });
});
