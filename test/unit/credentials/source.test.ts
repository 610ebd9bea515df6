import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../src/log.js';
import { lookupPodman, podmanAuthPaths } from '../../../src/oci/auth/credentials/podman.js';
import { createCredentialSource } from '../../../src/oci/auth/credentials/source.js';
import type { CredentialSourceOptions } from '../../../src/oci/auth/credentials/source.js';
import type { FetchLike } from '../../../src/oci/auth/credentials/oauth-token.js';
import { caught, copyFixture, exposedText, helperEnv, tempDir } from './_fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

const basic = (username: string, password: string) => ({ kind: 'basic', username, password });
const auths = (entries: Record<string, [string, string]>) =>
  JSON.stringify({ auths: Object.fromEntries(Object.entries(entries).map(([k, [u, p]]) => [k, { auth: Buffer.from(`${u}:${p}`).toString('base64') }])) });

const tokenFetch: FetchLike = async (_url, init) => {
  const who = new URLSearchParams(init.body).get('client_id') ?? 'header';
  return { status: 200, headers: { get: () => 'application/json' }, text: async () => JSON.stringify({ access_token: `oauth-${who}`, expires_in: 3600 }) };
};

/** Every layer has an answer for `r.example.com`, so removing layers one by one shows the order. */
async function allLayers(): Promise<CredentialSourceOptions> {
  const creds = join(dir, 'falcoctl-creds.json');
  const docker = join(dir, 'docker', 'config.json');
  const podman = join(dir, 'auth.json');
  const oauthFile = join(dir, 'clientcredentials.json');
  await mkdir(join(dir, 'docker'));
  await writeFile(creds, auths({ 'r.example.com': ['credsfile', 'p4'] }));
  await writeFile(docker, auths({ 'r.example.com': ['docker', 'p7'] }));
  await writeFile(podman, auths({ 'r.example.com': ['podman', 'p8'] }));
  await writeFile(oauthFile, JSON.stringify({ 'r.example.com': { ClientID: 'file', ClientSecret: 's', TokenURL: 'https://t/token', Scopes: null, EndpointParams: null, AuthStyle: 1 } }));
  return {
    explicit: { 'r.example.com': basic('flag', 'p1') as never },
    configAuth: {
      basic: [{ registry: 'r.example.com', user: 'config', password: 'p2' }],
      oauth: [{ registry: 'r.example.com', clientID: 'configoauth', clientSecret: 's', tokenURL: 'https://t/token' }],
    },
    credsConfigPath: creds,
    dockerConfigPath: docker,
    podmanAuthPaths: [podman],
    oauthFile,
    gcp: { registries: ['r.example.com'], token: async () => 'gcp-token' },
    env: {},
    home: dir,
    fetch: tokenFetch,
  };
}

describe('createCredentialSource order', () => {
  it('explicit > config basic > config oauth > credential file > oauth file > gcp > docker > podman > anonymous', async () => {
    const o = await allLayers();
    const steps: [Partial<CredentialSourceOptions>, unknown][] = [
      [{}, basic('flag', 'p1')],
      [{ explicit: {} }, basic('config', 'p2')],
      [{ configAuth: { oauth: o.configAuth?.oauth } }, { kind: 'bearer', token: 'oauth-header' }],
      [{ configAuth: {} }, basic('credsfile', 'p4')],
      [{ credsConfigPath: join(dir, 'none.json') }, { kind: 'bearer', token: 'oauth-file' }],
      [{ oauthFile: join(dir, 'none2.json') }, basic('oauth2accesstoken', 'gcp-token')],
      [{ gcp: undefined }, basic('docker', 'p7')],
      [{ dockerConfigPath: join(dir, 'none3.json') }, basic('podman', 'p8')],
      [{ podmanAuthPaths: [] }, undefined],
    ];
    let opts = o;
    for (const [change, want] of steps) {
      opts = { ...opts, ...change };
      expect(await createCredentialSource(opts)('r.example.com')).toEqual(want);
    }
  });

  it('does not read the docker config twice when it is the credential file, and reads DOCKER_CONFIG', async () => {
    await mkdir(join(dir, 'dc'));
    await writeFile(join(dir, 'dc', 'config.json'), auths({ 'x.io': ['dc', 'pw'] }));
    const source = createCredentialSource({ env: { DOCKER_CONFIG: join(dir, 'dc') }, home: dir, podmanAuthPaths: [] });
    expect(await source('x.io')).toEqual(basic('dc', 'pw'));
    expect(await source('y.io')).toBeUndefined();
  });

  it('never reads GITHUB_TOKEN implicitly', async () => {
    const source = createCredentialSource({ env: { GITHUB_TOKEN: 'ghp_x', GITHUB_ACTOR: 'me' }, home: dir, podmanAuthPaths: [] });
    expect(await source('ghcr.io')).toBeUndefined();
  });

  it('matches hosts case-insensitively and through Docker Hub aliases', async () => {
    const source = createCredentialSource({
      env: {}, home: dir, podmanAuthPaths: [],
      configAuth: { basic: [{ registry: 'docker.io', user: 'hub', password: 'pw' }] },
      explicit: { 'GHCR.io': basic('e', 'p') as never },
    });
    expect(await source('registry-1.docker.io')).toEqual(basic('hub', 'pw'));
    expect(await source('ghcr.io')).toEqual(basic('e', 'p'));
  });

  it('uses the fixture credential helper through the credential file', async () => {
    const creds = await copyFixture('docker-config.json', dir, 'config.json');
    const source = createCredentialSource({ env: helperEnv(), home: dir, credsConfigPath: creds, podmanAuthPaths: [] });
    expect(await source('helper.example.com')).toEqual(basic('helperuser', 'helper-SECRET-pw'));
    expect(await source('token.example.com')).toEqual({ kind: 'identity-token', token: 'helper-SECRET-idtoken' });
    expect(await source('nohelper.example.com')).toBeUndefined();
  });

  it('propagates configured-file errors, warns and skips unreadable fallbacks, secret-free', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"auths": {"x.io": {"auth": "SECRET-in-broken-file"');
    const err = await caught(() => createCredentialSource({ env: {}, home: dir, credsConfigPath: bad, podmanAuthPaths: [] })('x.io'));
    expect(err).toMatchObject({ code: 'ERR_CREDENTIALS' });
    expect(exposedText(err)).not.toContain('SECRET-in-broken-file');

    const logger = memoryLogger();
    const source = createCredentialSource({ env: {}, home: dir, credsConfigPath: join(dir, 'none.json'), dockerConfigPath: bad, podmanAuthPaths: [bad], logger });
    expect(await source('x.io')).toBeUndefined();
    expect(logger.records.map((r) => r.level)).toEqual(['warn', 'warn']);
    expect(JSON.stringify(logger.records)).not.toContain('SECRET-in-broken-file');
  });

  it('honours an aborted signal', async () => {
    const source = createCredentialSource({ env: {}, home: dir, podmanAuthPaths: [] });
    expect(await caught(() => source('x.io', { signal: AbortSignal.abort() }))).toMatchObject({ name: 'AbortError' });
  });
});

describe('podman auth.json', () => {
  it('derives the lookup paths', () => {
    expect(podmanAuthPaths({ REGISTRY_AUTH_FILE: '/a.json', XDG_RUNTIME_DIR: '/run/user/1' }, '/home/u')).toEqual([
      '/a.json', '/run/user/1/containers/auth.json', '/home/u/.config/containers/auth.json',
    ]);
    expect(podmanAuthPaths({}, '/home/u')).toEqual(['/home/u/.config/containers/auth.json']);
  });

  it('reads docker.io and whole-registry keys, not namespaced ones, first file first', async () => {
    const path = await copyFixture('podman-auth.json', dir, 'auth.json');
    const other = join(dir, 'other.json');
    await writeFile(other, auths({ 'quay.io': ['second', 'x'], 'only-here.io': ['second', 'y'] }));
    expect(await lookupPodman([path, other], 'registry-1.docker.io')).toEqual(basic('poduser', 'pod-SECRET-hub'));
    expect(await lookupPodman([path, other], 'quay.io')).toEqual(basic('poduser', 'pod-SECRET-quay'));
    expect(await lookupPodman([path, other], 'only-here.io')).toEqual(basic('second', 'y'));
    expect(await lookupPodman([join(dir, 'missing.json')], 'quay.io')).toBeUndefined();
  });
});
