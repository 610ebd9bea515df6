import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultDockerConfigPath, openCredentialFile } from '../../../src/oci/auth/credentials/store.js';
import { caught, copyFixture, exposedText, helperEnv, tempDir } from './_fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

const modeOf = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

describe('credential file lookups', () => {
  it.each([
    ['docker.io', { kind: 'basic', username: 'hubuser', password: 'hub-SECRET' }],
    ['registry-1.docker.io', { kind: 'basic', username: 'hubuser', password: 'hub-SECRET' }],
    ['index.docker.io', { kind: 'basic', username: 'hubuser', password: 'hub-SECRET' }],
    ['ghcr.example.com', { kind: 'basic', username: 'ghuser', password: 'gh-SECRET' }],
    ['GHCR.example.com', { kind: 'basic', username: 'ghuser', password: 'gh-SECRET' }],
    ['idtoken.example.com', { kind: 'identity-token', token: 'id-SECRET-token' }],
    ['regtoken.example.com', { kind: 'bearer', token: 'reg-SECRET-token' }],
    ['unknown.example.com', undefined],
  ])('%s', async (registry, want) => {
    const path = await copyFixture('docker-config.json', dir, 'config.json');
    expect(await openCredentialFile(path, { env: helperEnv() }).get(registry)).toEqual(want);
  });

  it('returns undefined for a missing file and rejects malformed ones without quoting them', async () => {
    expect(await openCredentialFile(join(dir, 'none.json'), { env: {} }).get('x.io')).toBeUndefined();
    const path = join(dir, 'config.json');
    await writeFile(path, '{"auths": {"x.io": {"auth": "dTpTRUNSRVQtYnJva2Vu"}');
    const err = await caught(() => openCredentialFile(path, { env: {} }).get('x.io'));
    expect(err).toMatchObject({ code: 'ERR_CREDENTIALS' });
    expect(err.message).toContain(path);
    expect(exposedText(err)).not.toContain('dTpTRUNSRVQtYnJva2Vu');
  });

  it('rejects an auth value without a colon, without echoing it', async () => {
    const path = await copyFixture('docker-config.json', dir, 'config.json');
    const err = await caught(() => openCredentialFile(path, { env: {} }).get('broken.example.com'));
    expect(err.message).toBe(`invalid "auth" value for "broken.example.com" in "${path}": expected base64 of "user:password"`);
    expect(exposedText(err)).not.toMatch(/nocolon|bm9jb2xvbg/);
  });
});

describe('login and logout', () => {
  it('creates the file 0600 in a 0700 dir, tab-indented, keyed as typed', async () => {
    const path = join(dir, 'new', 'config.json');
    await openCredentialFile(path, { env: {} }).login('localhost:5000', { kind: 'basic', username: 'alice', password: 's3cret' });
    expect(await modeOf(path)).toBe(0o600);
    expect(await modeOf(join(dir, 'new'))).toBe(0o700);
    const text = await readFile(path, 'utf8');
    expect(text).toBe('{\n\t"auths": {\n\t\t"localhost:5000": {\n\t\t\t"auth": "YWxpY2U6czNjcmV0"\n\t\t}\n\t}\n}\n');
    expect(await openCredentialFile(path, { env: {} }).get('localhost:5000')).toEqual({ kind: 'basic', username: 'alice', password: 's3cret' });
  });

  it('tightens looser existing modes and keeps unknown keys', async () => {
    const sub = join(dir, 'loose');
    await mkdir(sub);
    await chmod(sub, 0o755);
    const path = await copyFixture('docker-config.json', sub, 'config.json');
    await chmod(path, 0o644);
    await openCredentialFile(path, { env: helperEnv() }).login('new.example.com', { kind: 'basic', username: 'u', password: 'p' });
    expect(await modeOf(path)).toBe(0o600);
    expect(await modeOf(sub)).toBe(0o700);
    const doc = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    expect(doc.HttpHeaders).toEqual({ 'User-Agent': 'keep-me' });
    expect(doc.psFormat).toBe('table {{.ID}}');
    expect(Object.keys(doc.auths as object)).toContain('https://ghcr.example.com');
  });

  it('leaves a shared directory (sticky, world-writable: /tmp) as it is; the file is still 0600', async () => {
    for (const m of [0o1777, 0o777]) {
      const shared = join(dir, `shared-${m.toString(8)}`);
      await mkdir(shared);
      await chmod(shared, m);
      const path = join(shared, 'config.json');
      await openCredentialFile(path, { env: {} }).login('localhost:5000', { kind: 'basic', username: 'alice', password: 's3cret' });
      expect((await stat(shared)).mode & 0o7777).toBe(m);
      expect(await modeOf(path)).toBe(0o600);
    }
  });

  it('writes Docker Hub under https://index.docker.io/v1/ and replaces alias keys', async () => {
    const path = join(dir, 'config.json');
    await writeFile(path, JSON.stringify({ auths: { 'registry-1.docker.io': { auth: 'b2xkOm9sZA==' }, 'https://ghcr.io': { auth: 'b2xkOm9sZA==' } } }));
    const file = openCredentialFile(path, { env: {} });
    await file.login('docker.io', { kind: 'basic', username: 'new', password: 'pw' });
    await file.login('ghcr.io', { kind: 'identity-token', token: 'idt' });
    await file.login('reg.example.com', { kind: 'bearer', token: 'rt' });
    const auths = (JSON.parse(await readFile(path, 'utf8')) as { auths: Record<string, unknown> }).auths;
    expect(auths).toEqual({
      'https://index.docker.io/v1/': { auth: Buffer.from('new:pw').toString('base64') },
      'ghcr.io': { identitytoken: 'idt' },
      'reg.example.com': { registrytoken: 'rt' },
    });
    expect(await file.get('registry-1.docker.io')).toEqual({ kind: 'basic', username: 'new', password: 'pw' });
    expect(await file.get('ghcr.io')).toEqual({ kind: 'identity-token', token: 'idt' });
  });

  it('logs out one registry and reports when there was nothing', async () => {
    const path = await copyFixture('docker-config.json', dir, 'config.json');
    const file = openCredentialFile(path, { env: helperEnv() });
    expect(await file.logout('ghcr.example.com')).toBe(true);
    expect(await file.get('ghcr.example.com')).toBeUndefined();
    expect(await file.get('docker.io')).toMatchObject({ username: 'hubuser' });
    expect(await file.logout('ghcr.example.com')).toBe(false);
    expect(await modeOf(path)).toBe(0o600);
    expect(await openCredentialFile(join(dir, 'none.json'), { env: {} }).logout('x.io')).toBe(false);
  });

  it('derives the default path from DOCKER_CONFIG, else home', () => {
    expect(defaultDockerConfigPath({ DOCKER_CONFIG: '/cfg' }, '/home/u')).toBe('/cfg/config.json');
    expect(defaultDockerConfigPath({}, '/home/u')).toBe('/home/u/.docker/config.json');
  });
});
