/**
 * One CLI test per command of the whole tree, walked from `buildProgram()` so new commands are
 * covered without editing this file: `--help` exits 0 with an `Examples:` section, an unknown flag
 * is a usage error (exit 2, `Error:` on stderr, nothing on stdout), and every command that takes
 * `--output` prints JSON that parses with `--output json` (against the open test registry).
 */
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { createRegistryClient } from '../../src/oci/registry/client.js';
import { signArtifact } from '../../src/signature/sign.js';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { tmpDir } from '../helpers/tmp.js';
import { REPO_ROOT, runCli, spawnCli, testEnv, type CliResult } from './_run.js';

interface Node { path: string[]; cmd: Command }

async function commandTree(): Promise<Node[]> {
  const io = { env: {}, stdout: new PassThrough(), stderr: new PassThrough(), cwd: '/', signal: new AbortController().signal };
  const out: Node[] = [];
  const walk = (cmd: Command, path: string[]) => {
    out.push({ path, cmd });
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  walk(await buildProgram(io), []);
  return out;
}

/** A placeholder registered in src/cli/commands/register.ts and not written yet. */
function isStub(cmd: Command): boolean {
  const c = cmd as unknown as { _allowUnknownOption: boolean; _allowExcessArguments: boolean };
  return c._allowUnknownOption && c._allowExcessArguments && cmd.registeredArguments.length === 0 && cmd.options.length === 0 && cmd.commands.length === 0;
}

const TREE = await commandTree();
const name = (n: Node) => ['rulesctl', ...n.path].join(' ');
const home = tmpDir('commands');
const env = testEnv(home);

describe('every command: --help and usage errors', () => {
  it('walks a tree with falcoctl command names', () => {
    const names = TREE.map((n) => n.path.join(' '));
    for (const want of ['artifact install', 'artifact follow', 'artifact search', 'artifact info', 'artifact list', 'artifact config', 'artifact manifest',
      'index add', 'index list', 'index remove', 'index update', 'registry push', 'registry pull', 'registry auth basic', 'registry auth oauth',
      'registry auth gcp', 'version', 'completion']) {
      expect(names).toContain(want);
    }
  });

  for (const node of TREE) {
    it(`${name(node)} --help exits 0 and prints the usage on stdout`, async () => {
      const r = await runCli([...node.path, '--help'], { env });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: ${name(node)}`);
      expect(r.stderr).toBe('');
    });

    it(`${name(node)} --an-unknown-flag is a usage error (exit 2, Error: on stderr, stdout empty)`, async () => {
      const r = await runCli([...node.path, '--an-unknown-flag'], { env });
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^Error: /);
      expect(r.code).toBe(2);
    });
  }

  it('every implemented command has an Examples: section in --help', async () => {
    const missing: string[] = [];
    for (const node of TREE.filter((n) => !isStub(n.cmd))) {
      const r = await runCli([...node.path, '--help'], { env });
      if (!/\nExamples:\n {2}\S/.test(r.stdout)) missing.push(name(node));
    }
    expect(missing, 'commands whose --help has no Examples: section').toEqual([]);
  });

  it('stubs still waiting for their implementation answer "not implemented yet" with exit 2', async () => {
    for (const n of TREE.filter((x) => isStub(x.cmd))) {
      const r = await runCli(n.path, { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('not implemented yet');
    }
  });

  it("a subcommand's own --version (registry push, falcoctl's flag) is not the global --version", async () => {
    // `--version=X` (in the setup below) reaches push; the spaced form must too.
    const r = await runCli(['registry', 'push', `${getRegistries().open.host}/cli-version/x:1`, join(home, 'missing.yaml'), '--type', 'rulesfile', '--version', '1.0.0', '--plain-http'], { env });
    expect(r.stdout).not.toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('missing.yaml');
  });

  it('the built bin behaves the same (spawned): help exits 0, unknown flag exits 2', async () => {
    const help = await spawnCli(['--help'], { env });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: rulesctl');
    const bad = await spawnCli(['artifact', 'install', '--an-unknown-flag'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^Error: unknown option '--an-unknown-flag'/);
  });
});

/** What the JSON cases share: a signed rules artifact (1.0.0, 2.0.0) on the open registry and an index naming it. */
interface Ctx { host: string; repository: string; ref1: string; ref2: string; pub: string; rules: string; dir: (n: string) => string; indexUrl: string }

const reg = getRegistries().open;
const ctx: Ctx = {
  host: reg.host,
  repository: uniqueRepo('cli-json'),
  ref1: '', ref2: '', pub: join(home, 'cosign.pub'), rules: join(home, 'sample_rules.yaml'),
  dir: (n) => { const d = join(home, 'out', n); mkdirSync(d, { recursive: true }); return d; },
  indexUrl: `file://${join(home, 'extra-index.yaml')}`,
};
ctx.ref1 = `${ctx.host}/${ctx.repository}:1.0.0`;
ctx.ref2 = `${ctx.host}/${ctx.repository}:2.0.0`;

/**
 * argv for `--output json` per command that takes `--output`. A command that gains `--output`
 * without a case here fails the coverage test below: add its case.
 */
const JSON_CASES: Array<[string, (c: Ctx) => string[]]> = [
  ['registry push', (c) => ['registry', 'push', `${c.host}/${c.repository}:3.0.0`, c.rules, '--type', 'rulesfile', '--version=3.0.0', '--name', 'cli-sample', '--plain-http']],
  ['registry pull', (c) => ['registry', 'pull', c.ref1, '--dest-dir', c.dir('pull'), '--plain-http']],
  ['registry sync', (c) => ['registry', 'sync', c.host, c.host, c.ref1, '--no-deps', '--plain-http']],
  ['artifact search', () => ['artifact', 'search', 'cli-sample']],
  ['artifact list', () => ['artifact', 'list']],
  ['artifact info', (c) => ['artifact', 'info', c.ref1, '--plain-http']],
  ['artifact config', (c) => ['artifact', 'config', c.ref1, '--plain-http']],
  ['artifact manifest', (c) => ['artifact', 'manifest', c.ref1, '--plain-http']],
  ['artifact diff', (c) => ['artifact', 'diff', `${c.host}/${c.repository}`, '1.0.0', '2.0.0', '--plain-http']],
  ['artifact verify', (c) => ['artifact', 'verify', c.ref1, '--key', c.pub, '--ignore-tlog', '--plain-http']],
  ['artifact install', (c) => ['artifact', 'install', c.ref1, '--rulesfiles-dir', c.dir('rules'), '--plugins-dir', c.dir('plugins'), '--assets-dir', c.dir('assets'), '--state-dir', c.dir('state'), '--resolve-deps=false', '--plain-http']],
  ['index add', (c) => ['index', 'add', 'extra', c.indexUrl, 'file']],
  ['index list', () => ['index', 'list']],
  ['index update', () => ['index', 'update', 'extra']],
  ['index remove', () => ['index', 'remove', 'extra']],
  ['config', () => ['config', 'artifact.follow.every']],
  ['version', () => ['version']],
];

const WITH_OUTPUT = TREE.filter((n) => n.cmd.options.some((o) => o.long === '--output')).map((n) => n.path.join(' '));

/** `version -o json` keeps falcoctl's shape: `Client Version:` then the JSON document (spec §6). */
function jsonOf(command: string, r: CliResult): unknown {
  const text = command === 'version' ? r.stdout.replace(/^Client Version:\n/, '') : r.stdout;
  return JSON.parse(text);
}

describe('--output json parses as JSON for every command that takes --output', () => {
  const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 10, maxMs: 100 } });
  afterAll(() => client.close());

  beforeAll(async () => {
    copyFileSync(join(REPO_ROOT, 'fixtures', 'rules', 'valid_rules.yaml'), ctx.rules);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(ctx.pub, publicKey.export({ type: 'spki', format: 'pem' }));
    for (const version of ['1.0.0', '2.0.0']) {
      const r = await runCli(['registry', 'push', `${ctx.host}/${ctx.repository}:${version}`, ctx.rules, '--type', 'rulesfile', `--version=${version}`, '--name', 'cli-sample', '--plain-http'], { env });
      if (r.code !== 0) throw new Error(`setup push failed: ${r.stderr}`);
    }
    const repo = client.repository({ registry: ctx.host, repository: ctx.repository });
    for (const tag of ['1.0.0', '2.0.0']) {
      const { digest } = await repo.resolve(tag);
      await signArtifact({ target: repo, repository: `${ctx.host}/${ctx.repository}`, digest, key: privateKey });
    }
    const entry = {
      name: 'cli-sample', type: 'rulesfile', registry: ctx.host, repository: ctx.repository,
      signature: { cosign: { key: ctx.pub, 'ignore-tlog': true } },
      description: 'sample rules for the CLI tests', home: 'https://example.com', keywords: ['cli-sample'], license: 'apache-2.0', maintainers: [], sources: [],
    };
    writeFileSync(join(home, 'index.yaml'), yaml.dump([entry]));
    writeFileSync(join(home, 'extra-index.yaml'), yaml.dump([{ ...entry, name: 'cli-extra' }]));
    writeFileSync(join(home, 'falcoctl.yaml'), yaml.dump({ indexes: [{ name: 'test', url: `file://${join(home, 'index.yaml')}`, backend: 'file' }] }));
  });

  it('has a JSON case for every command that takes --output', () => {
    const cased = new Set(JSON_CASES.map(([c]) => c));
    expect(WITH_OUTPUT.filter((c) => !cased.has(c)), 'commands with --output but no JSON case in this file').toEqual([]);
  });

  for (const [command, argv] of JSON_CASES) {
    it(`${command} --output json`, async () => {
      expect(WITH_OUTPUT, 'a case for a command without --output: remove it').toContain(command);
      const r = await runCli([...argv(ctx), '--output', 'json'], { env });
      expect(r.stderr).not.toMatch(/^Error:/m);
      expect(r.code).toBe(0);
      expect(() => jsonOf(command, r)).not.toThrow();
      expect(jsonOf(command, r)).toBeTypeOf('object');
    });
  }
});
