/**
 * `rulesctl registry auth …` through the built CLI against the real test registries: basic login
 * (stdin, env, prompt), wrong passwords, credential helpers, logout, OAuth client credentials and
 * GCP registration.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredentialSource } from '../../src/oci/auth/credentials/source.js';
import { createRegistryClient } from '../../src/oci/registry/client.js';
import { pushMinimalArtifact } from '../helpers/minimal-artifact.js';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { tmpDir } from '../helpers/tmp.js';
import { REPO_ROOT, fakeTty, runCli, spawnCli, testEnv } from './_run.js';

const { basic, open, token } = getRegistries();
const FIXTURE_HELPER_DIR = join(REPO_ROOT, 'fixtures', 'credentials');

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** Pushes a one-layer artifact with `client` and returns its manifest digest. */
async function pushSample(client: ReturnType<typeof createRegistryClient>, registry: string, repository: string, tag: string): Promise<string> {
  const repo = client.repository({ registry, repository });
  return (await pushMinimalArtifact(repo, { name: 'sample', content: `rules ${Math.random()}`, tag, title: 'sample.tar.gz' })).digest;
}

describe('registry auth basic', () => {
  it('logs in with --password-stdin: file 0600 in a 0700 dir, then push and pull work with it', async () => {
    const home = tmpDir('auth-basic');
    const credsDir = join(home, 'creds');
    const creds = join(credsDir, 'config.json');
    const env = testEnv(home, { DOCKER_CONFIG: credsDir });
    const r = await spawnCli(['registry', 'auth', 'basic', basic.host, '-u', 'alice', '--password-stdin', '--plain-http', '--log-format', 'text'], { env, stdin: 's3cret\n' });
    expect(r.stderr).toMatch(new RegExp(`INFO  Login succeeded registry: ${basic.host.replace(/\./g, '\\.')} user: alice\\n`));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(mode(creds)).toBe(0o600);
    expect(mode(credsDir)).toBe(0o700);
    const saved = JSON.parse(readFileSync(creds, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(saved.auths[basic.host]!.auth, 'base64').toString()).toBe('alice:s3cret');

    // The next commands read the saved file: push and pull through the CLI, then the library source.
    const repository = uniqueRepo('cli-auth');
    const rules = join(home, 'rules.yaml');
    copyFileSync(join(REPO_ROOT, 'fixtures', 'rules', 'valid_rules.yaml'), rules);
    const push = await spawnCli(['registry', 'push', `${basic.host}/${repository}:1.0.0`, rules, '--type', 'rulesfile', '--version=1.0.0', '--plain-http'], { env });
    expect(push.stderr).not.toContain('Error');
    expect(push.code).toBe(0);
    ensureDir(join(home, 'pulled'));
    const pull = await spawnCli(['registry', 'pull', `${basic.host}/${repository}:1.0.0`, '--dest-dir', join(home, 'pulled'), '--plain-http'], { env });
    expect(pull.code).toBe(0);
    const anonymous = await spawnCli(['registry', 'pull', `${basic.host}/${repository}:1.0.0`, '--dest-dir', join(home, 'pulled'), '--plain-http'], { env: testEnv(tmpDir('auth-anon')) });
    expect(anonymous.code).toBe(1);
    const credentials = createCredentialSource({ env, home, podmanAuthPaths: [] });
    const client = createRegistryClient({ plainHttp: true, credentials, retry: { baseMs: 10, maxMs: 100 } });
    try {
      const digest = await pushSample(client, basic.host, repository, '2.0.0');
      expect((await client.repository({ registry: basic.host, repository }).resolve('2.0.0')).digest).toBe(digest);
    } finally {
      await client.close();
    }
  });

  it('refuses a wrong password: exit 1, a clear message, no file written', async () => {
    const home = tmpDir('auth-wrong');
    const env = testEnv(home, { DOCKER_CONFIG: join(home, 'creds') });
    const r = await spawnCli(['registry', 'auth', 'basic', basic.host, '-u', 'alice', '--password-stdin', '--plain-http'], { env, stdin: 'wrong-Pa55word\n' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`Error: login to "${basic.host}" as "alice" failed: the registry refused the credentials`);
    expect(r.stderr).toContain('nothing was saved');
    expect(r.stderr).not.toContain('wrong-Pa55word');
    expect(existsSync(join(home, 'creds'))).toBe(false);
  });

  it('logs in to a token-auth registry (bearer flow, as ghcr.io) and refuses a wrong password there', async () => {
    const home = tmpDir('auth-token');
    const env = testEnv(home, { DOCKER_CONFIG: join(home, 'creds') });
    const ok = await spawnCli(['registry', 'auth', 'basic', token.host, '-u', 'reader', '--password-stdin', '--plain-http'], { env, stdin: 'r\n' });
    expect(ok.stderr).toContain('Login succeeded');
    expect(ok.code).toBe(0);
    const bad = await spawnCli(['registry', 'auth', 'basic', token.host, '-u', 'reader', '--password-stdin', '--plain-http'], { env: testEnv(tmpDir('auth-token-bad')), stdin: 'nope\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('the registry refused the credentials');
  });

  it('takes FALCOCTL_REGISTRY_AUTH_BASIC_* from the environment and cuts a reference to its registry', async () => {
    const home = tmpDir('auth-env');
    const creds = join(home, 'custom', 'creds.json');
    writeFileSync(join(home, 'falcoctl.yaml'), yaml.dump({ registry: { creds: { config: creds } } }));
    const env = testEnv(home, {
      FALCOCTL_REGISTRY_AUTH_BASIC_USERNAME: 'alice',
      FALCOCTL_REGISTRY_AUTH_BASIC_PASSWORD_STDIN: 'true',
    });
    const r = await spawnCli(['registry', 'auth', 'basic', `${basic.host}/some/repo:1.0.0`, '--plain-http'], { env, stdin: 's3cret' });
    expect(r.stderr).toContain('Login succeeded');
    expect(r.code).toBe(0);
    expect(Object.keys(JSON.parse(readFileSync(creds, 'utf8')).auths)).toEqual([basic.host]);
    expect(mode(creds)).toBe(0o600);
  });

  it('prompts on a terminal: the username is echoed, the password is not', async () => {
    const home = tmpDir('auth-prompt');
    const env = testEnv(home, { DOCKER_CONFIG: join(home, 'creds') });
    const tty = fakeTty();
    tty.type('alice\r');
    tty.type('s3cret\r');
    const r = await runCli(['registry', 'auth', 'basic', basic.host, '--plain-http'], { env, stdin: tty });
    expect(r.stderr).toContain('Username: alice\nPassword: \n');
    expect(r.stderr).not.toContain('s3cret');
    expect(r.code).toBe(0);
    expect(tty.rawModes).toEqual([true, false, true, false]);
    expect(mode(join(home, 'creds', 'config.json'))).toBe(0o600);
  });

  it('says which flag to use when a password is missing and stdin is not a terminal (usage error)', async () => {
    const home = tmpDir('auth-missing');
    const r = await spawnCli(['registry', 'auth', 'basic', basic.host, '-u', 'alice'], { env: testEnv(home) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Error: missing password');
    expect(r.stderr).toContain('--password-stdin');
  });

  it('logs out (rulesctl extra), and says so when there was nothing to remove', async () => {
    const home = tmpDir('auth-logout');
    const creds = join(home, '.docker', 'config.json');
    writeFileSync(join(home, 'keep.json'), '');
    const env = testEnv(home);
    expect((await spawnCli(['registry', 'auth', 'basic', basic.host, '-u', 'alice', '-p', 's3cret', '--plain-http'], { env })).code).toBe(0);
    expect(JSON.parse(readFileSync(creds, 'utf8')).auths[basic.host]).toBeDefined();
    const out = await spawnCli(['registry', 'auth', 'logout', basic.host], { env });
    expect(out.code).toBe(0);
    expect(out.stderr).toContain('Logout succeeded');
    expect(JSON.parse(readFileSync(creds, 'utf8')).auths).toEqual({});
    const again = await spawnCli(['registry', 'auth', 'logout', basic.host], { env });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('Not logged in');
  });
});

describe('docker config with a credential helper', () => {
  /**
   * fixtures/credentials/docker-credential-rulesctltest answers only for *.example.com hosts, so
   * for the real basic registry a second helper answers alice/s3cret and defers the rest to it.
   */
  function helperDir(home: string): string {
    const dir = join(home, 'bin');
    const script = join(dir, 'docker-credential-rulesctlbasic');
    ensureDir(dir);
    writeFileSync(script, `#!/bin/sh
input=$(cat)
if [ "$1" = get ] && [ "$input" = "${basic.host}" ]; then
  printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}\\n' "$input"; exit 0
fi
printf '%s' "$input" | exec docker-credential-rulesctltest "$@"
`);
    chmodSync(script, 0o755);
    return dir;
  }

  it('a real pull gets its credentials from the helper on PATH (and fails clearly without it)', async () => {
    const home = tmpDir('auth-helper');
    const repository = uniqueRepo('cli-helper');
    const pusher = createRegistryClient({ plainHttp: true, credentials: async () => ({ kind: 'basic', username: 'alice', password: 's3cret' }) });
    try {
      await pushSample(pusher, basic.host, repository, '1.0.0');
    } finally {
      await pusher.close();
    }
    ensureDir(join(home, '.docker'));
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ credHelpers: { [basic.host]: 'rulesctlbasic' } }));
    ensureDir(join(home, 'out'));
    const argv = ['registry', 'pull', `${basic.host}/${repository}:1.0.0`, '--dest-dir', join(home, 'out'), '--plain-http', '--output', 'json'];
    const withHelper = await spawnCli(argv, { env: testEnv(home, {}, [helperDir(home), FIXTURE_HELPER_DIR]) });
    expect(withHelper.stderr).not.toContain('Error');
    expect(withHelper.code).toBe(0);
    expect(JSON.parse(withHelper.stdout)).toMatchObject({ reference: `${basic.host}/${repository}:1.0.0` });
    // Without them: the configured helper cannot run, and the error says so.
    const without = await spawnCli(argv, { env: testEnv(home, { PATH: '/nonexistent' }) });
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('Error: credential helper "docker-credential-rulesctlbasic" not found');
  });

  it('auth basic stores through the configured helper (fixture), not into auths', async () => {
    const home = tmpDir('auth-helper-store');
    const log = join(home, 'helper.log');
    ensureDir(join(home, '.docker'));
    const config = join(home, '.docker', 'config.json');
    writeFileSync(config, JSON.stringify({ credHelpers: { [basic.host]: 'rulesctltest' } }));
    const env = testEnv(home, { RULESCTLTEST_LOG: log }, [FIXTURE_HELPER_DIR]);
    const r = await spawnCli(['registry', 'auth', 'basic', basic.host, '-u', 'alice', '--password-stdin', '--plain-http'], { env, stdin: 's3cret\n' });
    expect(r.stderr).toContain('Login succeeded');
    expect(r.code).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain(`store {"ServerURL":"${basic.host}","Username":"alice","Secret":"s3cret"}`);
    expect(JSON.parse(readFileSync(config, 'utf8'))).toEqual({ credHelpers: { [basic.host]: 'rulesctltest' } });
  });
});

describe('registry auth oauth', () => {
  let server: Server;
  let tokenUrl = '';
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        seen.push(`${req.headers.authorization ?? ''} ${body}`);
        const ok = req.headers.authorization === `Basic ${Buffer.from('rulesctl:cl1ent-SECRET').toString('base64')}`;
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ok ? { access_token: 'acc3ss-TOKEN', token_type: 'bearer', expires_in: 300 } : { error: 'invalid_client' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address() as { port: number };
    tokenUrl = `http://127.0.0.1:${addr.port}/oauth2/token`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('fetches a token first, then saves falcoctl clientcredentials.json (0600)', async () => {
    const home = tmpDir('auth-oauth');
    const r = await spawnCli(['registry', 'auth', 'oauth', open.host, '--token-url', tokenUrl, '--client-id', 'rulesctl', '--client-secret', 'cl1ent-SECRET', '--scopes', 'pull,push', '--plain-http'], { env: testEnv(home) });
    expect(r.stderr).toContain('Client credentials correctly saved');
    expect(r.code).toBe(0);
    expect(seen.at(-1)).toContain('grant_type=client_credentials');
    const file = join(home, '.config', 'falcoctl', 'clientcredentials.json');
    expect(mode(file)).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      [open.host]: { ClientID: 'rulesctl', ClientSecret: 'cl1ent-SECRET', TokenURL: tokenUrl, Scopes: ['pull', 'push'], EndpointParams: null, AuthStyle: 0 },
    });
    for (const s of [r.stdout, r.stderr]) expect(s).not.toMatch(/cl1ent-SECRET|acc3ss-TOKEN/);
  });

  it('saves nothing when the provider refuses the client, and refuses a plain-HTTP token URL without --plain-http', async () => {
    const home = tmpDir('auth-oauth-bad');
    const bad = await spawnCli(['registry', 'auth', 'oauth', open.host, '--token-url', tokenUrl, '--client-id', 'rulesctl', '--client-secret', 'wr0ng-SECRET', '--plain-http'], { env: testEnv(home) });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('HTTP 401 (invalid_client)');
    expect(bad.stderr).not.toContain('wr0ng-SECRET');
    const plain = await spawnCli(['registry', 'auth', 'oauth', open.host, '--token-url', tokenUrl, '--client-id', 'rulesctl', '--client-secret', 'cl1ent-SECRET'], { env: testEnv(home) });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('refusing to send the client secret to the plain-HTTP token URL');
    expect(existsSync(join(home, '.config', 'falcoctl', 'clientcredentials.json'))).toBe(false);
  });

  it('requires --token-url, --client-id and --client-secret (usage error)', async () => {
    const r = await spawnCli(['registry', 'auth', 'oauth', open.host, '--client-id', 'x'], { env: testEnv(tmpDir('auth-oauth-usage')) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Error: required option '--token-url <url>' not specified/);
  });
});

describe('registry auth gcp', () => {
  let tokenServer: Server;
  let tokenUri = '';
  beforeAll(async () => {
    tokenServer = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ access_token: 'ya29.test-adc-token', expires_in: 3600, token_type: 'Bearer' }));
    });
    await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', () => r()));
    tokenUri = `http://127.0.0.1:${(tokenServer.address() as { port: number }).port}/token`;
  });
  afterAll(() => new Promise<void>((r) => tokenServer.close(() => r())));

  it('checks that ADC yields a token, then adds the registry to registry.auth.gcp keeping other keys; a second run changes nothing', async () => {
    const home = tmpDir('auth-gcp');
    const config = join(home, 'falcoctl.yaml');
    const adc = join(home, 'adc.json');
    writeFileSync(adc, JSON.stringify({ type: 'authorized_user', client_id: 'c', client_secret: 'not-printed-secret', refresh_token: 'r', token_uri: tokenUri }));
    writeFileSync(config, yaml.dump({ artifact: { follow: { every: '6h' } }, registry: { auth: { gcp: [{ registry: 'us-docker.pkg.dev' }] } } }));
    const env = { ...testEnv(home), GOOGLE_APPLICATION_CREDENTIALS: adc };
    const r = await spawnCli(['registry', 'auth', 'gcp', 'europe-docker.pkg.dev/project/repo'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('GCP credentials configured');
    expect(r.stdout + r.stderr).not.toContain('not-printed-secret');
    expect(yaml.load(readFileSync(config, 'utf8'))).toEqual({
      artifact: { follow: { every: '6h' } },
      registry: { auth: { gcp: [{ registry: 'us-docker.pkg.dev' }, { registry: 'europe-docker.pkg.dev' }] } },
    });
    const again = await spawnCli(['registry', 'auth', 'gcp', 'europe-docker.pkg.dev'], { env });
    expect(again.stderr).toContain('already configured');
    expect((yaml.load(readFileSync(config, 'utf8')) as { registry: { auth: { gcp: unknown[] } } }).registry.auth.gcp).toHaveLength(2);
  });
});

function ensureDir(dir: string): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
}
