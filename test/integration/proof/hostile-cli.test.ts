/**
 * Issue 8, Hostile input through the CLI (in-process `main`):
 * - the hostile archive corpus (fixtures/archives, see its README) pushed byte for byte, through
 *   `registry pull --extract` and `artifact install`: the documented error code, nothing written
 *   (not in the destination, not at the paths the archives aim at);
 * - references with odd characters: ERR_INVALID_REFERENCE quoting the input, before any request;
 * - index files with bad YAML or bad entries, and entries pointing at another registry;
 * - dependency cycles: compatible ones install (no infinite loop), incompatible ones fail.
 *
 * "Pointing elsewhere" (decided here): an index entry is resolved exactly as written, host and
 * repository; plain HTTP is used only when asked (--plain-http / registry.plainHttp), otherwise the
 * entry's host is spoken to over TLS and an HTTP-only host fails, before anything is written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, testEnv } from '../../cli/_run.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { errorOf, installFlags, PLATFORM_FLAG, proofDirs, publish, publisher, publishRaw, tree, type ProofDirs } from '../../helpers/proof/proof.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';

const reg = getRegistries().open;
const pub = publisher();
let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy({ upstream: reg.url });
});
afterAll(async () => {
  await proxy?.close();
  await pub.close();
});

const corpus = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'archives');
const AIMED = ['/tmp/rulesctl-corpus-dotdot.txt', '/tmp/rulesctl-corpus-absolute.txt', '/tmp/rulesctl-corpus-symlink.txt'];

/** The corpus README's refused rows and their codes (ERR_UNSAFE_ARCHIVE unless the row names another). */
function refusedFromReadme(): Record<string, string> {
  const readme = readFileSync(join(corpus, 'README.md'), 'utf8');
  const out: Record<string, string> = {};
  for (const m of readme.matchAll(/^\| `([^`]+)` \|[^|]*\| (refused[^|]*)\|/gm)) out[m[1]!] = /ERR_[A-Z_]+/.exec(m[2]!)?.[0] ?? 'ERR_UNSAFE_ARCHIVE';
  return out;
}

async function cli(argv: string[], d: ProofDirs): Promise<{ code: number; error: { code?: string; message: string }; stderr: string }> {
  const r = await runCli(['--log-format', 'json', ...argv], { env: testEnv(d.home) });
  return { code: r.code, error: errorOf(r.stderr), stderr: r.stderr };
}

const written = (d: ProofDirs): string[] => [...tree(d.rules), ...tree(d.plugins), ...tree(d.assets), ...tree(d.state).filter((p) => !p.endsWith('/'))];

describe('the hostile archive corpus through the CLI', () => {
  const refused = refusedFromReadme();
  it('the README lists the 16 refused archives', () => {
    expect(Object.keys(refused)).toHaveLength(16);
    expect(refused['truncated.tar.gz']).toBe('ERR_INVALID_ARTIFACT');
    expect(refused['symlink.tar.gz']).toBe('ERR_UNSAFE_ARCHIVE');
  });

  for (const [file, code] of Object.entries(refused)) {
    it(`${file}: ${code} through registry pull --extract and artifact install, nothing written`, { timeout: 120_000 }, async () => {
      const repository = uniqueRepo('proof/corpus');
      await publishRaw(pub.repository({ registry: reg.host, repository }), {
        config: '{"name":"corpus","version":"1.0.0"}', layer: readFileSync(join(corpus, file)), title: file, tag: '1.0.0',
      });
      const ref = `${reg.host}/${repository}:1.0.0`;
      const d = await proofDirs('proof-corpus');
      const pull = await cli(['registry', 'pull', ref, '--plain-http', '--platform', PLATFORM_FLAG, '--extract', '-o', d.rules], d);
      expect(pull.code, pull.stderr).toBe(1);
      expect(pull.error.code).toBe(code);
      expect(tree(d.rules)).toEqual([]);
      const inst = await cli(['artifact', 'install', ref, ...installFlags(d)], d);
      expect(inst.code, inst.stderr).toBe(1);
      expect(inst.error.code).toBe(code);
      expect(written(d)).toEqual([]);
      for (const p of [...AIMED, join(d.root, 'rulesctl-corpus-dotdot.txt')]) expect(existsSync(p)).toBe(false);
    });
  }
});

describe('references with odd characters', () => {
  const host = (): string => proxy.host;
  const ODD: [string, () => string][] = [
    ['uppercase repository', () => `${host()}/Proof/Repo:1.0.0`],
    ['a space', () => `${host()}/proof/my repo:1.0.0`],
    ['".." components', () => `${host()}/proof/../../etc:1.0.0`],
    ['a "." component', () => `${host()}/./proof:1.0.0`],
    ['a 300-character repository', () => `${host()}/proof/${'a'.repeat(300)}:1.0.0`],
    ['unicode', () => `${host()}/proof/répo:1.0.0`],
    ['fullwidth letters', () => `${host()}/proof/ｒｅｐｏ:1.0.0`],
    ['an empty tag', () => `${host()}/proof/repo:`],
    ['a 129-character tag', () => `${host()}/proof/repo:${'t'.repeat(129)}`],
    ['a tag with ../', () => `${host()}/proof/repo:../../etc`],
    ['a short digest', () => `${host()}/proof/repo@sha256:abc`],
    ['a newline', () => `${host()}/proof/repo:1.0.0\nX`],
    ['a NUL byte', () => `${host()}/proof/re\u0000po:1.0.0`],
    ['a double slash', () => `${host()}//proof:1.0.0`],
    ['a host with a space', () => 'local host/proof:1.0.0'],
  ];
  for (const [name, ref] of ODD) {
    it(`${name}: ERR_INVALID_REFERENCE, no request, nothing written`, async () => {
      proxy.reset();
      const d = await proofDirs('proof-refs');
      for (const argv of [
        ['registry', 'pull', ref(), '--plain-http', '-o', d.rules],
        ['artifact', 'install', ref(), ...installFlags(d)],
      ]) {
        const r = await cli(argv, d);
        expect(r.code, r.stderr).not.toBe(0);
        expect(r.error.code, r.stderr).toMatch(/^ERR_(INVALID_REFERENCE|UNKNOWN_ARTIFACT)$/);
      }
      expect(proxy.requests).toEqual([]);
      expect(written(d)).toEqual([]);
    });
  }
});

/** An index.yaml (falcoctl format) with these raw entries; returns its file:// URL. */
async function indexFile(dir: string, text: string): Promise<string> {
  const path = join(dir, `index-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(path, text);
  return pathToFileURL(path).href;
}

const entry = (name: string, registry: string, repository: string): string =>
  `- name: ${name}\n  type: rulesfile\n  registry: "${registry}"\n  repository: "${repository}"\n  description: proof\n  home: ""\n  keywords: [proof]\n  license: apache-2.0\n  maintainers: []\n  sources: []\n`;

/** A HOME whose falcoctl.yaml configures exactly this index. */
async function withIndex(d: ProofDirs, url: string): Promise<void> {
  await writeFile(join(d.home, 'falcoctl.yaml'), `indexes:\n  - name: proof\n    url: ${url}\n`);
}

describe('index files', () => {
  const BAD: [string, string][] = [
    ['bad YAML', '- name: proof-a\n  type: [rulesfile\n  registry: "x'],
    ['a mapping instead of a list', 'name: proof-a\ntype: rulesfile\n'],
    ['an entry without registry and repository', '- name: proof-a\n  type: rulesfile\n'],
    ['a registry that is a list', '- name: proof-a\n  type: rulesfile\n  registry: [ghcr.io, evil.example]\n  repository: x/y\n'],
  ];
  for (const [name, text] of BAD) {
    it(`${name}: index add and artifact install fail with an index error, nothing written`, async () => {
      const d = await proofDirs('proof-index');
      const url = await indexFile(d.root, text);
      const add = await cli(['index', 'add', 'proof', url], d);
      expect(add.code, add.stderr).toBe(1);
      expect(add.error.code).toMatch(/^ERR_(INVALID_INDEX|INDEX_FETCH)$/);
      expect(tree(d.home).filter((p) => p.includes('indexes/'))).toEqual([]);
      await withIndex(d, url);
      const inst = await cli(['artifact', 'install', 'proof-a:1.0.0', ...installFlags(d)], d);
      expect(inst.code, inst.stderr).toBe(1);
      expect(inst.error.code).toMatch(/^ERR_(INVALID_INDEX|INDEX_FETCH)$/);
      expect(written(d)).toEqual([]);
    });
  }

  it('an entry whose repository climbs out ("../../etc"): ERR_INVALID_REFERENCE or ERR_INVALID_INDEX, nothing written', async () => {
    const d = await proofDirs('proof-index');
    await withIndex(d, await indexFile(d.root, entry('proof-a', reg.host, '../../etc')));
    const inst = await cli(['artifact', 'install', 'proof-a:1.0.0', ...installFlags(d)], d);
    expect(inst.code, inst.stderr).toBe(1);
    expect(inst.error.code).toMatch(/^ERR_(INVALID_REFERENCE|INVALID_INDEX)$/);
    expect(written(d)).toEqual([]);
  });

  it('an entry pointing at another registry is resolved exactly as written: TLS unless plain HTTP is asked for', async () => {
    // The "other" registry: the proxy's second origin (another host, 127.0.0.2), serving the same storage.
    const repository = uniqueRepo('proof/elsewhere');
    await publish(pub.repository({ registry: reg.host, repository }), { name: 'proof-a', version: '1.0.0', content: '- list: proof_elsewhere\n  items: []\n' });
    const d = await proofDirs('proof-index');
    await withIndex(d, await indexFile(d.root, entry('proof-a', proxy.secondOrigin.host, repository)));
    proxy.reset();
    const flags = installFlags(d).filter((f) => f !== '--plain-http');
    const tls = await cli(['artifact', 'install', 'proof-a:1.0.0', ...flags], d);
    expect(tls.code, tls.stderr).toBe(1);
    expect(tls.error.code).toMatch(/^ERR_(NETWORK|TIMEOUT)$/);
    expect(tls.error.message).toContain(proxy.secondOrigin.host);
    expect(proxy.requests.filter((r) => r.origin === 'second')).toEqual([]); // no plain-text request at all
    expect(written(d)).toEqual([]);
    const plain = await cli(['artifact', 'install', 'proof-a:1.0.0', ...installFlags(d)], d);
    expect(plain.code, plain.stderr).toBe(0);
    expect(tree(d.rules)).toEqual(['proof_a.yaml']);
    const asked = proxy.requests.filter((r) => r.origin === 'second').map((r) => r.path);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((p) => p === '/v2/' || p.startsWith(`/v2/${repository}/`))).toBe(true);
  });
});

describe('dependency cycles', () => {
  async function cycle(depsOfB: string): Promise<ProofDirs> {
    const repoA = uniqueRepo('proof/cycle-a');
    const repoB = uniqueRepo('proof/cycle-b');
    const a = pub.repository({ registry: reg.host, repository: repoA });
    const b = pub.repository({ registry: reg.host, repository: repoB });
    await publish(a, { name: 'proof-a', version: '1.0.0', content: '- list: a1\n  items: []\n', dependencies: [{ name: 'proof-b', version: '1.0.0' }] });
    await publish(a, { name: 'proof-a', version: '2.0.0', content: '- list: a2\n  items: []\n', dependencies: [{ name: 'proof-b', version: '1.0.0' }] });
    await publish(b, { name: 'proof-b', version: '1.0.0', content: '- list: b1\n  items: []\n', dependencies: [{ name: 'proof-a', version: depsOfB }] });
    const d = await proofDirs('proof-cycle');
    await withIndex(d, await indexFile(d.root, entry('proof-a', reg.host, repoA) + entry('proof-b', reg.host, repoB)));
    return d;
  }

  it('A→B→A with compatible versions installs both, once', async () => {
    const d = await cycle('1.0.0');
    const r = await cli(['artifact', 'install', 'proof-a:1.0.0', ...installFlags(d)], d);
    expect(r.code, r.stderr).toBe(0);
    expect(tree(d.rules)).toEqual(['proof_a.yaml', 'proof_b.yaml']);
    expect(readFileSync(join(d.rules, 'proof_a.yaml'), 'utf8')).toContain('a1');
  });

  it('A:1→B→A:2 (incompatible) fails with a dependency error, nothing written', async () => {
    const d = await cycle('2.0.0');
    const r = await cli(['artifact', 'install', 'proof-a:1.0.0', ...installFlags(d)], d);
    expect(r.code, r.stderr).toBe(1);
    expect(r.error.code).toMatch(/^ERR_DEPENDENCY_(CONFLICT|CYCLE)$/);
    expect(r.error.message).toMatch(/proof-a/);
    expect(written(d)).toEqual([]);
  });
});
