import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { helperGet, runHelper } from '../../../src/oci/auth/credentials/helpers.js';
import { openCredentialFile } from '../../../src/oci/auth/credentials/store.js';
import { caught, copyFixture, exposedText, helperEnv, tempDir } from './_fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
let path: string;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  path = await copyFixture('docker-config.json', dir, 'config.json');
});
afterEach(async () => cleanup());

describe('docker credential helpers (credHelpers)', () => {
  it('gets user/password from the helper found on the injected PATH', async () => {
    const file = openCredentialFile(path, { env: helperEnv() });
    expect(await file.get('helper.example.com')).toEqual({ kind: 'basic', username: 'helperuser', password: 'helper-SECRET-pw' });
  });

  it('maps the <token> username to an identity token', async () => {
    const file = openCredentialFile(path, { env: helperEnv() });
    expect(await file.get('token.example.com')).toEqual({ kind: 'identity-token', token: 'helper-SECRET-idtoken' });
  });

  it('treats "credentials not found in native keychain" as no credentials', async () => {
    const r = await helperGet(runHelper, 'rulesctltest', 'other.example.com', { env: helperEnv() });
    expect(r).toBeUndefined();
  });

  it('routes login and logout to the helper and leaves the file alone', async () => {
    const log = join(dir, 'helper.log');
    const before = await readFile(path, 'utf8');
    const file = openCredentialFile(path, { env: helperEnv({ RULESCTLTEST_LOG: log }) });
    await file.login('helper.example.com', { kind: 'basic', username: 'u', password: 'pw' });
    await file.login('token.example.com', { kind: 'identity-token', token: 'idt' });
    expect(await file.logout('helper.example.com')).toBe(true);
    expect(await file.logout('token.example.com')).toBe(false);
    expect((await readFile(log, 'utf8')).split('\n')).toEqual([
      'store {"ServerURL":"helper.example.com","Username":"u","Secret":"pw"}',
      'store {"ServerURL":"token.example.com","Username":"<token>","Secret":"idt"}',
      'erase helper.example.com',
      'erase token.example.com',
      '',
    ]);
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('never echoes the secret when a helper fails', async () => {
    const file = openCredentialFile(path, { env: helperEnv() });
    const err = await caught(() => file.login('fail.example.com', { kind: 'basic', username: 'u', password: 'pw-SECRET-9' }));
    expect(err).toMatchObject({ code: 'ERR_CREDENTIALS' });
    expect(err.message).toMatch(/^credential helper "docker-credential-rulesctltest" store failed: cannot store .*<redacted>/);
    expect(exposedText(err)).not.toContain('pw-SECRET-9');
  });

  it('says which helper is missing', async () => {
    const file = openCredentialFile(path, { env: helperEnv() });
    const err = await caught(() => file.get('missing-helper.example.com'));
    expect(err).toMatchObject({ code: 'ERR_CREDENTIALS', message: 'credential helper "docker-credential-doesnotexist" not found' });
    expect(err.hint).toMatch(/PATH/);
  });

  it('times out and honours an AbortSignal', async () => {
    const slow = openCredentialFile(path, { env: helperEnv(), helperTimeoutMs: 200 });
    expect(await caught(() => slow.get('slow.example.com'))).toMatchObject({ code: 'ERR_TIMEOUT' });
    const file = openCredentialFile(path, { env: helperEnv() });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    expect(await caught(() => file.get('slow.example.com', { signal: ac.signal }))).toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('uses credsStore for registries without a credHelpers entry', async () => {
    const log = join(dir, 'helper.log');
    const cfg = join(dir, 'store.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(cfg, JSON.stringify({ credsStore: 'rulesctltest', auths: { 'helper.example.com': {} } }));
    const file = openCredentialFile(cfg, { env: helperEnv({ RULESCTLTEST_LOG: log }) });
    expect(await file.get('helper.example.com')).toMatchObject({ username: 'helperuser' });
    expect(await file.get('nothing.example.com')).toBeUndefined();
    await file.login('docker.io', { kind: 'basic', username: 'h', password: 'p' });
    expect(await readFile(log, 'utf8')).toBe('store {"ServerURL":"https://index.docker.io/v1/","Username":"h","Secret":"p"}\n');
  });
});
