/**
 * `registry.insecure` (FALCOCTL_REGISTRY_INSECURE) skips TLS verification only on connections to
 * the hosts it lists: the token realm of a listed registry on another host is verified, and gets
 * no credentials when its certificate is not trusted. `--insecure` still means every host.
 * Two local HTTPS servers with a self-signed certificate (openssl): the registry and its realm.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/tmp.js';
import { spawnCli, testEnv } from './_run.js';

let registry: Server;
let realm: Server;
let host = '';
const realmSaw: (string | undefined)[] = [];

beforeAll(async () => {
  const dir = tmpDir('insecure-certs');
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
  const tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  realm = createServer(tls, (req, res) => {
    realmSaw.push(req.headers.authorization);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"token":"tok"}');
  });
  await new Promise<void>((r) => realm.listen(0, '127.0.0.1', r));
  registry = createServer(tls, (req, res) => {
    req.resume();
    if (req.headers.authorization === 'Bearer tok') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}');
      return;
    }
    res.writeHead(401, { 'www-authenticate': `Bearer realm="https://localhost:${(realm.address() as AddressInfo).port}/token",service="reg"` });
    res.end();
  });
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of [registry, realm]) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});
beforeEach(() => {
  realmSaw.length = 0;
});

const pull = (extraEnv: Record<string, string>, flags: string[] = []) => {
  const home = tmpDir('insecure-hosts');
  return spawnCli(['registry', 'pull', `${host}/proj/rules:1`, '--dest-dir', home, ...flags], {
    env: testEnv(home, { FALCOCTL_REGISTRY_AUTH_BASIC: `${host},alice,BASIC-SECRET`, ...extraEnv }),
  });
};

describe('registry.insecure', () => {
  it('does not extend to the token realm on another host: its untrusted certificate is refused, it gets no credentials', async () => {
    const r = await pull({ FALCOCTL_REGISTRY_INSECURE: host });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error: GET https://localhost:${(realm.address() as AddressInfo).port}/token`);
    expect(r.stderr).toContain('self-signed certificate');
    expect(r.stderr).toContain('--ca-file');
    expect(r.stderr).not.toContain('BASIC-SECRET');
    expect(realmSaw).toEqual([]);
  });

  it('--insecure skips verification everywhere, as asked: the realm is reached', async () => {
    const r = await pull({}, ['--insecure']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('404 MANIFEST_UNKNOWN');
    expect(realmSaw).toEqual([`Basic ${Buffer.from('alice:BASIC-SECRET').toString('base64')}`]);
  });
});
