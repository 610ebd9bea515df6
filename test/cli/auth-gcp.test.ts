/**
 * `rulesctl registry auth gcp` with Google application-default credentials from a service-account
 * key whose token_uri is a token server on 127.0.0.1: the entry is written only when ADC yields a token,
 * and a registry listed in registry.auth.gcp gets `oauth2accesstoken:<token>`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRegistries } from '../helpers/registries.js';
import { tmpDir } from '../helpers/tmp.js';
import { runCli, testEnv } from './_run.js';

const { open } = getRegistries();
const PRIVATE_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

let server: Server;
let tokenUri: string;
let status = 200;
let requests = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { access_token: 'ya29.cli', expires_in: 3600 } : { error: 'invalid_grant' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  tokenUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
});
afterAll(async () => new Promise<void>((r) => server.close(() => r())));

/** A temp home with a service-account key (token_uri → the local server) and the env pointing at it. */
function setup(prefix: string): { home: string; config: string; env: Record<string, string | undefined> } {
  const home = tmpDir(prefix);
  const key = join(home, 'sa.json');
  writeFileSync(key, JSON.stringify({
    type: 'service_account', private_key_id: 'k1', private_key: PRIVATE_PEM, client_email: 'sa@p.iam.gserviceaccount.com', token_uri: tokenUri,
  }));
  return { home, config: join(home, 'custom', 'falcoctl.yaml'), env: testEnv(home, { GOOGLE_APPLICATION_CREDENTIALS: key, GCE_METADATA_HOST: '127.0.0.1:1' }) };
}

describe('registry auth gcp', () => {
  it('checks that ADC yields a token, then adds the registry to registry.auth.gcp of --config', async () => {
    status = 200;
    const before = requests;
    const { config, env } = setup('auth-gcp-ok');
    const r = await runCli(['registry', 'auth', 'gcp', open.host, '--config', config, '--log-format', 'text'], { env });
    expect(r.stderr).toContain(`GCP credentials configured registry: ${open.host}`);
    expect(r.code).toBe(0);
    expect(requests).toBe(before + 1);
    expect(yaml.load(readFileSync(config, 'utf8'))).toEqual({ registry: { auth: { gcp: [{ registry: open.host }] } } });
  });

  it('a token server answering 401: exit 1 with the error, config unchanged', async () => {
    status = 401;
    const { config, env } = setup('auth-gcp-401');
    const r = await runCli(['registry', 'auth', 'gcp', open.host, '--config', config], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('HTTP 401');
    expect(r.stderr).not.toContain('PRIVATE KEY');
    expect(existsSync(config)).toBe(false);

    const kept = 'artifact:\n  follow:\n    every: 6h\n';
    const { config: existing, env: env2 } = setup('auth-gcp-401b');
    mkdirSync(join(existing, '..'), { recursive: true });
    writeFileSync(existing, kept);
    expect((await runCli(['registry', 'auth', 'gcp', open.host, '--config', existing], { env: env2 })).code).toBe(1);
    expect(readFileSync(existing, 'utf8')).toBe(kept);
  });

  it('registries in registry.auth.gcp are accessed as oauth2accesstoken with the ADC token', async () => {
    status = 200;
    const auths: (string | undefined)[] = [];
    const registry = createServer((req, res) => {
      auths.push(req.headers.authorization);
      req.resume();
      if (req.headers.authorization === undefined) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="gcp"', 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}');
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}');
      }
    });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
    try {
      const host = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
      const { home, config, env } = setup('auth-gcp-use');
      mkdirSync(join(config, '..'), { recursive: true });
      writeFileSync(config, yaml.dump({ registry: { auth: { gcp: [{ registry: host }] } } }));
      const r = await runCli(['registry', 'pull', `${host}/proj/rules:1`, '--dest-dir', home, '--plain-http', '--config', config], { env });
      expect(r.code).toBe(1);
      expect(auths).toContain(`Basic ${Buffer.from('oauth2accesstoken:ya29.cli').toString('base64')}`);
    } finally {
      await new Promise<void>((r) => registry.close(() => r()));
    }
  });
});
