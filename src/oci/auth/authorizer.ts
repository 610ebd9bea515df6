import { ErrorCodes, RulesctlError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { challengeScopes, parseChallenges } from './challenge.js';
import { fetchToken, mergeScopes, type RawSend, type Token } from './token.js';
import type { Credential, CredentialSource } from './types.js';

export interface AuthorizerOptions {
  credentials: CredentialSource;
  send: RawSend;
  logger: Logger;
  /** True when credentials may travel over plain HTTP for this registry (its plainHttp setting). */
  allowPlainHttp: (registry: string) => boolean;
  now?: () => number;
}

/** What to send on one request, and whether stored credentials were involved. */
export interface Authorization {
  header?: string;
  usedCredentials: boolean;
}

export interface AuthorizeOptions {
  /** Ignore stored credentials (anonymous retry after rejected credentials, registries.md §3.1). */
  anonymous?: boolean;
  signal?: AbortSignal;
}

/**
 * Per-client auth state (oras-go `auth.Client`): the scheme each registry asked for, and bearer
 * tokens cached per (registry, service, sorted scopes, anonymous) until they expire
 * (registries.md §4.1).
 */
export interface Authorizer {
  /** Header for a first try: known scheme and cached (or proactively fetched) token. */
  authorize(registry: string, scopes: string[], opts?: AuthorizeOptions): Promise<Authorization>;
  /** Answers a 401 challenge with a fresh token or Basic; undefined when nothing new can be tried. */
  challenge(registry: string, scopes: string[], wwwAuthenticate: string | string[] | undefined, opts?: AuthorizeOptions): Promise<Authorization | undefined>;
}

interface RegistryAuthState {
  scheme: 'basic' | 'bearer';
  realm?: string;
  service?: string;
}

/** Creates an Authorizer; see the interface. */
export function createAuthorizer(opts: AuthorizerOptions): Authorizer {
  const now = opts.now ?? Date.now;
  const states = new Map<string, RegistryAuthState>();
  const tokens = new Map<string, Token>();
  const creds = new Map<string, Promise<Credential | undefined>>();

  // Credentials are looked up once per registry and kept (a credential helper is a process), until
  // the registry or its token server rejects what was sent: then once more, since they may have
  // been rotated (a GCP access token lives an hour, a follow daemon for months).
  const credentialFor = (registry: string, o: AuthorizeOptions, fresh = false): Promise<Credential | undefined> => {
    if (o.anonymous) return Promise.resolve(undefined);
    if (fresh) creds.delete(registry);
    let p = creds.get(registry);
    if (!p) {
      p = opts.credentials(registry, o.signal ? { signal: o.signal } : {});
      p.catch(() => creds.delete(registry));
      creds.set(registry, p);
    }
    return p;
  };
  const keyOf = (registry: string, st: RegistryAuthState, scopes: string[], anon: boolean): string =>
    JSON.stringify([registry, st.service ?? '', mergeScopes(scopes), anon]);

  /** `fresh`: look the credentials up again first; `retried`: they were, after a rejection. */
  async function bearer(registry: string, st: RegistryAuthState, scopes: string[], extra: string[], o: AuthorizeOptions, fresh = false, retried = false): Promise<Authorization> {
    const cred = await credentialFor(registry, o, fresh);
    if (cred?.kind === 'bearer') return { header: `Bearer ${cred.token}`, usedCredentials: true };
    const realm = new URL(st.realm ?? '');
    if (cred && realm.protocol === 'http:' && !opts.allowPlainHttp(registry)) {
      throw new RulesctlError(ErrorCodes.PLAIN_HTTP_REFUSED, `refusing to send credentials for ${registry} to the plain-HTTP token realm ${realm.origin}`, {
        hint: `use --plain-http for ${registry} only if you trust the network`,
      });
    }
    opts.logger.debug('requesting registry token', { registry, realm: realm.origin + realm.pathname, scopes: mergeScopes([...scopes, ...extra]), anonymous: !cred });
    let token: Token;
    try {
      token = await fetchToken(opts.send, {
        realm: st.realm ?? '', service: st.service, scopes: mergeScopes([...scopes, ...extra]),
        ...(cred ? { credential: cred } : {}), ...(o.signal ? { signal: o.signal } : {}),
      }, now);
    } catch (err) {
      // Rejected credentials kept from an earlier lookup: look them up once more, and retry if they changed.
      if (fresh || retried || !cred || (err as RulesctlError).code !== ErrorCodes.UNAUTHORIZED) throw err;
      const again = await credentialFor(registry, o, true);
      if (JSON.stringify(again) === JSON.stringify(cred)) throw err;
      return bearer(registry, st, scopes, extra, o, false, true);
    }
    tokens.set(keyOf(registry, st, scopes, !cred), token);
    return { header: `Bearer ${token.token}`, usedCredentials: cred !== undefined };
  }

  async function basic(registry: string, o: AuthorizeOptions, fresh = false): Promise<Authorization | undefined> {
    const cred = await credentialFor(registry, o, fresh);
    if (cred?.kind === 'basic') {
      return { header: `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`, usedCredentials: true };
    }
    if (cred?.kind === 'bearer') return { header: `Bearer ${cred.token}`, usedCredentials: true };
    return undefined;
  }

  return {
    async authorize(registry, scopes, o = {}) {
      const st = states.get(registry);
      if (!st) {
        const cred = await credentialFor(registry, o);
        return cred?.kind === 'bearer' ? { header: `Bearer ${cred.token}`, usedCredentials: true } : { usedCredentials: false };
      }
      if (st.scheme === 'basic') return (await basic(registry, o)) ?? { usedCredentials: false };
      const anon = (await credentialFor(registry, o)) === undefined;
      const cached = tokens.get(keyOf(registry, st, scopes, anon));
      if (cached && cached.expiresAt > now()) return { header: `Bearer ${cached.token}`, usedCredentials: !anon };
      return bearer(registry, st, scopes, [], o);
    },
    async challenge(registry, scopes, header, o = {}) {
      const challenges = parseChallenges(header);
      // A registry that challenged before was sent what that challenge asked for, and refused it now.
      const fresh = states.has(registry);
      const b = challenges.find((c) => c.scheme === 'bearer' && c.params['realm']);
      if (b) {
        const st: RegistryAuthState = { scheme: 'bearer', realm: b.params['realm']!, service: b.params['service'] };
        states.set(registry, st);
        return bearer(registry, st, scopes, challengeScopes(b), o, fresh);
      }
      if (challenges.some((c) => c.scheme === 'basic')) {
        states.set(registry, { scheme: 'basic' });
        return basic(registry, o, fresh);
      }
      return undefined;
    },
  };
}
