/**
 * Secrets never reach output: commands that get the basic registry's password (and wrong ones)
 * through flags, stdin, FALCOCTL_* variables and falcoctl.yaml, succeeding and failing, at trace
 * level, in text and JSON logs, with --verbose error causes. Every stdout and stderr is searched
 * for each secret and its base64 forms. Spawned, so anything written around the injected streams
 * would be caught too.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { tmpDir } from '../helpers/tmp.js';
import { REPO_ROOT, spawnCli, testEnv, type CliResult } from './_run.js';

const { basic, open } = getRegistries();
const PASSWORD = basic.password ?? 's3cret';
const WRONG = 'Wr0ng-Pa55-Xy9';
const CLIENT_SECRET = 'cl1ent-S3cret-Qz7';
const SECRETS = [PASSWORD, WRONG, CLIENT_SECRET];
/** The forms a secret could leak in: as is, and in Basic auth headers / docker `auth` fields. */
const FORMS = SECRETS.flatMap((s) => [s, Buffer.from(`alice:${s}`).toString('base64'), Buffer.from(s).toString('base64')]);

const home = tmpDir('secrets');
const repository = uniqueRepo('cli-secrets');
const ref = `${basic.host}/${repository}:1.0.0`;
const rules = join(home, 'rules.yaml');

interface Run { name: string; argv: string[]; env?: Record<string, string>; stdin?: string; config?: unknown; expectCode: number; /** Proves the run failed where intended. */ expectStderr?: string }

const basicEnv = (password: string) => ({ FALCOCTL_REGISTRY_AUTH_BASIC: `${basic.host},alice,${password}` });
const fileAuth = (password: string) => ({ registry: { auth: { basic: [{ registry: basic.host, user: 'alice', password }] } } });
const LOUD = ['--log-level', 'trace'];

const RUNS: Run[] = [
  { name: 'auth basic -p (ok)', argv: ['registry', 'auth', 'basic', basic.host, '-u', 'alice', '-p', PASSWORD, '--plain-http', ...LOUD], expectCode: 0 },
  { name: 'auth basic --password-stdin, json logs (ok)', argv: ['registry', 'auth', 'basic', basic.host, '-u', 'alice', '--password-stdin', '--plain-http', '--log-format', 'json', ...LOUD], stdin: `${PASSWORD}\n`, expectCode: 0 },
  { name: 'auth basic -p wrong', argv: ['registry', 'auth', 'basic', basic.host, '-u', 'alice', '-p', WRONG, '--plain-http', ...LOUD, '--verbose'], expectCode: 1, expectStderr: 'refused the credentials' },
  { name: 'auth basic env password wrong, json logs', argv: ['registry', 'auth', 'basic', basic.host, '--plain-http', '--log-format', 'json', ...LOUD], env: { FALCOCTL_REGISTRY_AUTH_BASIC_USERNAME: 'alice', FALCOCTL_REGISTRY_AUTH_BASIC_PASSWORD: WRONG }, expectCode: 1, expectStderr: 'refused the credentials' },
  { name: 'auth basic, nothing listening', argv: ['registry', 'auth', 'basic', '127.0.0.1:9', '-u', 'alice', '-p', PASSWORD, '--plain-http', ...LOUD, '--verbose'], expectCode: 1, expectStderr: 'ECONNREFUSED' },
  { name: 'auth basic over https to a plain-HTTP registry', argv: ['registry', 'auth', 'basic', basic.host, '-u', 'alice', '-p', PASSWORD, ...LOUD, '--verbose'], expectCode: 1 },
  { name: 'config, env auth (text)', argv: ['config'], env: basicEnv(PASSWORD), expectCode: 0 },
  { name: 'config, env auth (json)', argv: ['config', '-o', 'json'], env: basicEnv(PASSWORD), expectCode: 0 },
  { name: 'config, file auth and oauth (json)', argv: ['config', '-o', 'json'], config: { registry: { auth: { ...fileAuth(PASSWORD).registry.auth, oauth: [{ registry: open.host, clientID: 'id', clientSecret: CLIENT_SECRET, tokenURL: 'https://127.0.0.1:9/token' }] } } }, expectCode: 0 },
  { name: 'config, malformed env auth', argv: ['config', 'registry.auth.basic'], env: { FALCOCTL_REGISTRY_AUTH_BASIC: `${basic.host};alice;${WRONG}` }, expectCode: 1, expectStderr: 'not valid token "<redacted>"' },
  { name: 'config, malformed file auth', argv: ['config'], config: { registry: { auth: { basic: [{ registry: basic.host, user: 'alice', password: { nested: WRONG } }] } } }, expectCode: 1 },
  { name: 'registry pull, env auth (ok)', argv: ['registry', 'pull', ref, '--dest-dir', join(home, 'pull'), '--plain-http', '--output', 'json', ...LOUD], env: basicEnv(PASSWORD), expectCode: 0 },
  { name: 'registry pull, env auth wrong', argv: ['registry', 'pull', ref, '--dest-dir', join(home, 'pull2'), '--plain-http', ...LOUD, '--verbose'], env: basicEnv(WRONG), expectCode: 1 },
  { name: 'registry push, file auth (ok)', argv: ['registry', 'push', `${basic.host}/${repository}:2.0.0`, rules, '--type', 'rulesfile', '--version=2.0.0', '--plain-http', '-o', 'json', ...LOUD], config: fileAuth(PASSWORD), expectCode: 0 },
  { name: 'registry push, file auth wrong, json logs', argv: ['registry', 'push', `${basic.host}/${repository}:3.0.0`, rules, '--type', 'rulesfile', '--version=3.0.0', '--plain-http', '--log-format', 'json', ...LOUD], config: fileAuth(WRONG), expectCode: 1 },
  { name: 'artifact manifest, file auth (ok)', argv: ['artifact', 'manifest', ref, '--plain-http', ...LOUD], config: fileAuth(PASSWORD), expectCode: 0 },
  { name: 'artifact verify, env auth wrong', argv: ['artifact', 'verify', ref, '--key', join(home, 'none.pub'), '--ignore-tlog', '--plain-http', ...LOUD, '--verbose'], env: basicEnv(WRONG), expectCode: 1 },
  { name: 'artifact install, env auth (ok)', argv: ['artifact', 'install', ref, '--rulesfiles-dir', join(home, 'rules'), '--plugins-dir', join(home, 'plugins'), '--state-dir', join(home, 'state'), '--resolve-deps=false', '--plain-http', '-o', 'json', ...LOUD], env: basicEnv(PASSWORD), expectCode: 0 },
  { name: 'auth oauth, unreachable token URL', argv: ['registry', 'auth', 'oauth', open.host, '--token-url', 'https://127.0.0.1:9/token', '--client-id', 'id', '--client-secret', CLIENT_SECRET, ...LOUD, '--verbose'], expectCode: 1 },
];

const results = new Map<string, CliResult>();

describe('no secret in any output', () => {
  beforeAll(async () => {
    copyFileSync(join(REPO_ROOT, 'fixtures', 'rules', 'valid_rules.yaml'), rules);
    for (const d of ['pull', 'pull2', 'rules', 'plugins', 'state']) mkdirSync(join(home, d));
    // The artifact the pull/verify/install runs read, pushed with the right password from the file.
    const seedHome = tmpDir('secrets-seed');
    writeFileSync(join(seedHome, 'falcoctl.yaml'), yaml.dump(fileAuth(PASSWORD)));
    const seed = await spawnCli(['registry', 'push', ref, rules, '--type', 'rulesfile', '--version=1.0.0', '--plain-http'], { env: testEnv(seedHome) });
    if (seed.code !== 0) throw new Error(`seeding ${ref} failed: ${seed.stderr}`);
    await Promise.all(RUNS.map(async (run) => {
      const runHome = tmpDir('secrets-run');
      if (run.config !== undefined) writeFileSync(join(runHome, 'falcoctl.yaml'), yaml.dump(run.config));
      const r = await spawnCli(run.argv, { env: testEnv(runHome, run.env ?? {}), ...(run.stdin !== undefined ? { stdin: run.stdin } : {}) });
      results.set(run.name, r);
    }));
  }, 120_000);

  for (const run of RUNS) {
    it(`${run.name}: exit ${run.expectCode}, no secret on stdout or stderr`, () => {
      const r = results.get(run.name)!;
      const leaks = FORMS.filter((f) => r.stdout.includes(f) || r.stderr.includes(f));
      expect(leaks, `secret forms in the output of: rulesctl ${run.argv.join(' ')}\n${r.stdout}\n${r.stderr}`).toEqual([]);
      expect(r.code, r.stderr).toBe(run.expectCode);
      if (run.expectCode !== 0) expect(r.stderr).toMatch(/Error: |"level":"ERROR"/);
      if (run.expectStderr !== undefined) expect(r.stderr).toContain(run.expectStderr);
    });
  }
});
