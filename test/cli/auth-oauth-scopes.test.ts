/**
 * `registry auth oauth --scopes` is a pflag StringSlice in falcoctl (cmd/registry/auth/oauth):
 * repeats append and each value is split on commas, so every scope given lands in
 * clientcredentials.json.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRegistries } from '../helpers/registries.js';
import { tmpDir } from '../helpers/tmp.js';
import { runCli, testEnv } from './_run.js';

describe('registry auth oauth --scopes', () => {
  const { open } = getRegistries();
  let server: Server;
  let tokenUrl = '';
  const bodies: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'acc3ss-TOKEN', token_type: 'bearer', expires_in: 300 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    tokenUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/oauth2/token`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('accumulates repeated values, each split on commas', async () => {
    const home = tmpDir('auth-oauth-scopes');
    const r = await runCli(['registry', 'auth', 'oauth', open.host, '--token-url', tokenUrl, '--client-id', 'id', '--client-secret', 's3cret',
      '--scopes', 'pull', '--scopes', 'push,delete', '--scopes=admin', '--plain-http'], { env: testEnv(home) });
    expect(r.code).toBe(0);
    const saved = JSON.parse(readFileSync(join(home, '.config', 'falcoctl', 'clientcredentials.json'), 'utf8')) as Record<string, { Scopes: string[] }>;
    expect(saved[open.host]!.Scopes).toEqual(['pull', 'push', 'delete', 'admin']);
    expect(new URLSearchParams(bodies.at(-1)).get('scope')).toBe('pull push delete admin');
  });
});
