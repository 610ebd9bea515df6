import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Runtime } from '../../../src/cli/runtime.js';
import { parseBasicLogin } from '../../../src/cli/commands/registry/auth/basic.js';
import { memoryLogger } from '../../../src/log.js';
import { registryArgument } from '../../../src/cli/commands/registry/auth/common.js';
import { parseOAuthFlags } from '../../../src/cli/commands/registry/auth/oauth.js';
import { policyFromFlags } from '../../../src/cli/commands/artifact/verify.js';

describe('registry auth arguments', () => {
  it('cuts a reference to its registry and drops a scheme', () => {
    expect(registryArgument('ghcr.io')).toBe('ghcr.io');
    expect(registryArgument('ghcr.io/falcosecurity/rules/falco-rules:3')).toBe('ghcr.io');
    expect(registryArgument('https://localhost:5000/v2/')).toBe('localhost:5000');
    expect(() => registryArgument('')).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
    expect(() => registryArgument('user@host')).toThrow(/invalid registry "user@host"/);
  });

  it('builds falcoctl clientcredentials.Config and refuses plain-HTTP token URLs without --plain-http', () => {
    const base = { tokenUrl: 'https://auth.example.com/token', clientId: 'id', clientSecret: 'SECRET' };
    expect(parseOAuthFlags({ ...base, scopes: 'pull, push,' })).toEqual({
      ClientID: 'id', ClientSecret: 'SECRET', TokenURL: 'https://auth.example.com/token', Scopes: ['pull', 'push'], EndpointParams: null, AuthStyle: 0,
    });
    expect(parseOAuthFlags(base).Scopes).toBeNull();
    const plain = { ...base, tokenUrl: 'http://127.0.0.1:1/token' };
    expect(() => parseOAuthFlags(plain)).toThrow(expect.objectContaining({ code: 'ERR_PLAIN_HTTP_REFUSED' }));
    expect(parseOAuthFlags({ ...plain, plainHttp: true }).TokenURL).toBe('http://127.0.0.1:1/token');
    expect(() => parseOAuthFlags({ ...base, tokenUrl: 'ftp://x' })).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
  });
});

describe('artifact verify policy flags', () => {
  it('maps flags to cosign policies', () => {
    expect(policyFromFlags({})).toBeUndefined();
    expect(policyFromFlags({ key: 'cosign.pub', ignoreTlog: true })).toEqual({ kind: 'key', keyRef: 'cosign.pub', ignoreTlog: true });
    expect(policyFromFlags({ certificateIdentityRegexp: '^https://github.com/falcosecurity/', certificateOidcIssuer: 'https://token.actions.githubusercontent.com' }))
      .toMatchObject({ kind: 'keyless', issuer: 'https://token.actions.githubusercontent.com', ignoreTlog: false });
  });

  it('refuses incomplete or mixed policies as usage errors', () => {
    expect(() => policyFromFlags({ certificateIdentity: 'x' })).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
    expect(() => policyFromFlags({ key: 'k', certificateIdentity: 'x' })).toThrow(/cannot be combined/);
    expect(() => policyFromFlags({ certificateIdentityRegexp: '(', certificateOidcIssuer: 'i' })).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
  });
});

describe('registry auth basic: flags, env and stdin', () => {
  const rtWith = (env: Record<string, string>, stdin = '') => ({
    io: { env, stdin: Readable.from([Buffer.from(stdin)]), stdout: new PassThrough(), stderr: new PassThrough(), cwd: '/', signal: new AbortController().signal },
    logger: memoryLogger(),
  }) as unknown as Runtime;

  it('flags beat FALCOCTL_REGISTRY_AUTH_BASIC_* variables', async () => {
    const env = { FALCOCTL_REGISTRY_AUTH_BASIC_USERNAME: 'envuser', FALCOCTL_REGISTRY_AUTH_BASIC_PASSWORD: 'envpass' };
    expect(await parseBasicLogin(rtWith(env), 'r.example.com/x/y:1', {})).toEqual({ registry: 'r.example.com', username: 'envuser', password: 'envpass', plainHttp: false });
    expect(await parseBasicLogin(rtWith(env), 'r.example.com', { username: 'u', password: 'p', plainHttp: true })).toMatchObject({ username: 'u', password: 'p', plainHttp: true });
    // --password-stdin ignores the env password; the env stdin switch does not override --password.
    expect(await parseBasicLogin(rtWith(env, 'stdinpass\n'), 'r.example.com', { passwordStdin: true })).toMatchObject({ username: 'envuser', password: 'stdinpass' });
    const envStdin = { ...env, FALCOCTL_REGISTRY_AUTH_BASIC_PASSWORD_STDIN: 'true' };
    expect(await parseBasicLogin(rtWith(envStdin, 'fromstdin'), 'r.example.com', {})).toMatchObject({ password: 'fromstdin' });
    expect(await parseBasicLogin(rtWith(envStdin, 'fromstdin'), 'r.example.com', { password: 'flag' })).toMatchObject({ password: 'flag' });
  });

  it('usage errors: both password flags, stdin without a username, nothing to prompt on, empty password', async () => {
    await expect(parseBasicLogin(rtWith({}), 'r', { username: 'u', password: 'p', passwordStdin: true })).rejects.toThrow(/mutually exclusive/);
    await expect(parseBasicLogin(rtWith({}, 'p'), 'r', { passwordStdin: true })).rejects.toThrow(/needs --username/);
    await expect(parseBasicLogin(rtWith({}), 'r', { username: 'u' })).rejects.toMatchObject({ code: 'ERR_USAGE', message: expect.stringContaining('missing password') });
    await expect(parseBasicLogin(rtWith({}, '\n'), 'r', { username: 'u', passwordStdin: true })).rejects.toThrow(/empty password/);
  });
});
