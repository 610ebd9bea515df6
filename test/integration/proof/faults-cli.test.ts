/**
 * Issue 8, Faults, through the CLI (in-process `main`, default retry policy): `registry pull`,
 * `registry pull --extract` and `artifact install` of a rulesfile from the real registry behind the
 * fault proxy. Each fault ends in success with the whole file, or exit 1 with the expected error
 * code; the destination (and install's state dir) never holds a temp, staging or partial entry.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, testEnv } from '../../cli/_run.js';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../../helpers/fault-proxy.js';
import { errorOf, installFlags, leftovers, PLATFORM_FLAG, proofDirs, publish, publisher, sha256, tree } from '../../helpers/proof/proof.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';

const reg = getRegistries().open;
const pub = publisher();
let proxy: FaultProxy;
const repository = uniqueRepo('proof/faults-cli');
const content = `# ${randomBytes(90_000).toString('base64')}\n- list: proof_cli\n  items: []\n`;
let layerPath = '';
let manifestPrefix = '';

beforeAll(async () => {
  await publish(pub.repository({ registry: reg.host, repository }), { name: 'proof-cli', version: '1.0.0', content });
  const m = await pub.repository({ registry: reg.host, repository }).fetchManifest('1.0.0');
  layerPath = `/v2/${repository}/blobs/${(JSON.parse(m.bytes.toString()) as { layers: { digest: string }[] }).layers[0]!.digest}`;
  manifestPrefix = `/v2/${repository}/manifests/`;
  proxy = await startFaultProxy({ upstream: reg.url });
});
afterAll(async () => {
  await proxy?.close();
  await pub.close();
});

const exact = (p: string): RegExp => new RegExp(`^${p.replace(/[/.]/g, '\\$&')}$`);
const prefix = (p: string): RegExp => new RegExp(`^${p.replace(/[/.]/g, '\\$&')}`);

interface Case {
  name: string;
  rules: () => FaultRule[];
  /** `ok`, or the error code of the failed run. */
  expect: 'ok' | string;
}

const CASES: Case[] = [
  { name: 'reset mid-manifest (once)', rules: () => [{ method: 'GET', path: prefix(manifestPrefix), times: 1, kind: 'reset', afterBytes: 50 }], expect: 'ok' },
  { name: 'reset mid-blob (every response)', rules: () => [{ method: 'GET', path: exact(layerPath), kind: 'reset', afterBytes: 25_000 }], expect: 'ok' },
  { name: 'reset before the body (always)', rules: () => [{ method: 'GET', path: exact(layerPath), kind: 'reset', afterBytes: 0 }], expect: 'ERR_NETWORK' },
  { name: '429 with Retry-After: 1', rules: () => [{ method: 'GET', path: exact(layerPath), times: 1, kind: 'respond', status: 429, headers: { 'retry-after': '1' } }], expect: 'ok' },
  { name: '429 without Retry-After (twice)', rules: () => [{ method: 'GET', path: exact(layerPath), times: 2, kind: 'respond', status: 429 }], expect: 'ok' },
  {
    name: '500, 502, 503 burst', expect: 'ok',
    rules: () => [500, 502, 503].map((status): FaultRule => ({ method: 'GET', path: exact(layerPath), times: 1, kind: 'respond', status })),
  },
  { name: '503 forever', rules: () => [{ method: 'GET', path: exact(layerPath), kind: 'respond', status: 503 }], expect: 'ERR_REGISTRY' },
  { name: 'wrong Content-Length', rules: () => [{ method: 'GET', path: exact(layerPath), kind: 'content-length', value: 5_000_000 }], expect: 'ERR_SIZE_MISMATCH' },
  { name: 'body longer than the descriptor', rules: () => [{ method: 'GET', path: exact(layerPath), kind: 'append', bytes: 'TRAILING' }], expect: 'ERR_SIZE_MISMATCH' },
  { name: 'redirect loop', rules: () => [{ method: 'GET', path: exact(layerPath), kind: 'redirect-loop' }], expect: 'ERR_TOO_MANY_REDIRECTS' },
];

type Command = 'registry pull' | 'registry pull --extract' | 'artifact install';

async function run(command: Command, c: Case): Promise<void> {
  proxy.reset();
  proxy.setRules(c.rules());
  const d = await proofDirs('proof-faults-cli');
  const ref = `${proxy.host}/${repository}:1.0.0`;
  const argv = command === 'artifact install'
    ? ['--log-format', 'json', 'artifact', 'install', ref, ...installFlags(d)]
    : ['--log-format', 'json', 'registry', 'pull', ref, '--plain-http', '--platform', PLATFORM_FLAG, '-o', d.rules, ...(command.endsWith('--extract') ? ['--extract'] : [])];
  const r = await runCli(argv, { env: testEnv(d.home) });
  const files = tree(d.rules);
  if (c.expect === 'ok') {
    expect(r.code, r.stderr).toBe(0);
    if (command === 'registry pull') {
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/\.tar\.gz$/);
    } else {
      expect(files).toEqual(['proof_cli.yaml']);
      expect(sha256(readFileSync(join(d.rules, 'proof_cli.yaml')))).toBe(sha256(content));
    }
  } else {
    expect(r.code, r.stderr).toBe(1);
    expect(errorOf(r.stderr)).toMatchObject({ code: c.expect, message: expect.stringMatching(/\S/) });
    expect(files).toEqual([]);
  }
  expect(leftovers(d.rules)).toEqual([]);
  // install's state and lock files are written only after placement, and never left half-written.
  expect(leftovers(d.state).filter((p) => !p.startsWith('.'))).toEqual([]);
  expect(tree(d.state).some((p) => p.endsWith('.tmp'))).toBe(false);
  if (c.expect !== 'ok') expect(tree(d.state).filter((p) => !p.endsWith('/'))).toEqual([]);
  // Bounded: never more than the policy's 4 attempts per request, plus Range resumes of the layer.
  expect(proxy.requests.length).toBeLessThan(30);
}

describe.each<Command>(['registry pull', 'registry pull --extract', 'artifact install'])('%s through faults', (command) => {
  for (const c of CASES) {
    it(`${c.name}: ${c.expect === 'ok' ? 'succeeds, whole file' : c.expect}, nothing partial`, () => run(command, c));
  }
});
