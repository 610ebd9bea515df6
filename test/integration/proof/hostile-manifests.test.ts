/**
 * Issue 8, Hostile input: malformed and oversized manifests (served through the fault proxy with a
 * matching Docker-Content-Digest, as a hostile registry would), configs with wrong types, non-semver
 * versions and oversized configs (pushed to the real registry as they are), and a registry whose
 * manifest bytes do not match the digest asked for. Each ends in a precise error code through
 * `pullArtifact` (save and extract) and through `rulesctl artifact install`, and nothing is written.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullArtifact } from '../../../src/artifact/pull.js';
import { digestOf } from '../../../src/oci/descriptor.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import { runCli, testEnv } from '../../cli/_run.js';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../../helpers/fault-proxy.js';
import { errorOf, installFlags, PLATFORM, proofDirs, publish, publisher, publishRaw, tree } from '../../helpers/proof/proof.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { tmpDir } from '../../helpers/tmp.js';

const reg = getRegistries().open;
const pub = publisher();
const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 5, maxMs: 40 } });
let proxy: FaultProxy;
const repository = uniqueRepo('proof/hostile-manifest');
let good: { digest: string; doc: Record<string, unknown> & { layers: Record<string, unknown>[]; config: Record<string, unknown> } };

beforeAll(async () => {
  await publish(pub.repository({ registry: reg.host, repository }), { name: 'proof-hostile', version: '1.0.0', content: '- list: proof_hostile\n  items: []\n' });
  const m = await pub.repository({ registry: reg.host, repository }).fetchManifest('1.0.0');
  good = { digest: m.descriptor.digest, doc: JSON.parse(m.bytes.toString()) as typeof good.doc };
  proxy = await startFaultProxy({ upstream: reg.url });
});
afterAll(async () => {
  await proxy?.close();
  await client.close();
  await pub.close();
});

/** Serves `body` for the manifest by tag (GET and HEAD), with its own digest announced. */
function serveManifest(body: string | Buffer): FaultRule[] {
  const bytes = Buffer.from(body);
  const headers = { 'content-type': MediaTypes.ociManifest, 'docker-content-digest': digestOf(bytes) };
  return [{ method: ['GET', 'HEAD'], path: new RegExp(`/manifests/1\\.0\\.0$`), kind: 'replace', body: bytes, headers }];
}

const withDoc = (patch: (d: Record<string, unknown>) => void): string => {
  const d = structuredClone(good.doc) as Record<string, unknown>;
  patch(d);
  return JSON.stringify(d);
};

interface Case { name: string; body: () => string | Buffer; code: string; message?: RegExp }

const MANIFESTS: Case[] = [
  { name: 'invalid JSON', body: () => '{"schemaVersion": 2, "layers": [', code: 'ERR_INVALID_MANIFEST', message: /not JSON/ },
  { name: 'a JSON array', body: () => '[1, 2, 3]', code: 'ERR_INVALID_MANIFEST' },
  { name: 'schemaVersion 1', body: () => withDoc((d) => { d.schemaVersion = 1; }), code: 'ERR_INVALID_MANIFEST', message: /schemaVersion 1/ },
  { name: 'schemaVersion "2" (a string)', body: () => withDoc((d) => { d.schemaVersion = '2'; }), code: 'ERR_INVALID_MANIFEST', message: /schemaVersion/ },
  { name: 'layers not an array', body: () => withDoc((d) => { d.layers = { 0: good.doc.layers[0] }; }), code: 'ERR_INVALID_MANIFEST', message: /no layers/ },
  { name: 'no layers', body: () => withDoc((d) => { d.layers = []; }), code: 'ERR_INVALID_MANIFEST', message: /no layers/ },
  { name: 'no config', body: () => withDoc((d) => { delete d.config; }), code: 'ERR_INVALID_MANIFEST', message: /config/ },
  {
    name: 'over the 8 MiB manifest limit (9 MiB)', code: 'ERR_REGISTRY', message: /larger than/,
    body: () => withDoc((d) => { d.annotations = { pad: 'x'.repeat(9 * 1024 * 1024) }; }),
  },
  {
    name: 'a layer title that climbs out ("../../evil.tar.gz")', code: 'ERR_UNSAFE_ARCHIVE',
    body: () => withDoc((d) => { (d.layers as Record<string, unknown>[])[0]!.annotations = { 'org.opencontainers.image.title': '../../evil.tar.gz' }; }),
  },
  {
    name: 'a layer size smaller than the blob', code: 'ERR_SIZE_MISMATCH',
    body: () => withDoc((d) => { (d.layers as Record<string, unknown>[])[0]!.size = 10; }),
  },
  {
    name: 'a layer digest that does not exist', code: 'ERR_NOT_FOUND',
    body: () => withDoc((d) => { (d.layers as Record<string, unknown>[])[0]!.digest = digestOf(randomBytes(16)); }),
  },
  {
    name: 'a config declared over 4 MiB', code: 'ERR_INVALID_CONFIG', message: /limit/,
    body: () => withDoc((d) => { (d.config as Record<string, unknown>).size = 5 * 1024 * 1024; }),
  },
];

async function viaLibrary(ref: { host: string; repository: string; reference: string }, extract: boolean): Promise<{ err: unknown; dest: string }> {
  const dest = tmpDir('proof-hostile-pull');
  const err = await pullArtifact(client.repository({ registry: ref.host, repository: ref.repository }), ref.reference, { platform: PLATFORM, destDir: dest, extract })
    .then(() => undefined, (e: unknown) => e);
  return { err, dest };
}

async function viaInstall(ref: string): Promise<{ code: number; error: { code?: string; message: string }; written: string[]; rules: string[] }> {
  const d = await proofDirs('proof-hostile-install');
  const r = await runCli(['--log-format', 'json', 'artifact', 'install', ref, ...installFlags(d)], { env: testEnv(d.home) });
  // Destinations: nothing at all. State dir: no file (install may leave its empty scratch dir .rulesctl/work/).
  const stateFiles = tree(d.state).filter((p) => !p.endsWith('/'));
  return { code: r.code, error: errorOf(r.stderr), written: [...tree(d.rules), ...tree(d.plugins), ...tree(d.assets), ...stateFiles], rules: tree(d.rules) };
}

describe('malformed and oversized manifests', () => {
  for (const c of MANIFESTS) {
    it(`${c.name}: ${c.code}, nothing written`, async () => {
      proxy.reset();
      proxy.setRules(serveManifest(c.body()));
      for (const extract of [false, true]) {
        const { err, dest } = await viaLibrary({ host: proxy.host, repository, reference: '1.0.0' }, extract);
        expect(err).toMatchObject({ code: c.code, ...(c.message ? { message: expect.stringMatching(c.message) } : {}) });
        expect(tree(dest)).toEqual([]);
      }
      const r = await viaInstall(`${proxy.host}/${repository}:1.0.0`);
      if (c.code === 'ERR_UNSAFE_ARCHIVE') {
        // install never uses the title as a path (it extracts the archive): the same safe result as for a sane title.
        expect(r.code).toBe(0);
        expect(r.rules).toEqual(['proof_hostile.yaml']);
        return;
      }
      expect(r.code).toBe(1);
      expect(r.error.code).toBe(c.code);
      expect(r.written).toEqual([]);
    });
  }
});

describe('a registry serving a manifest that does not match the reference', () => {
  it('by digest: different bytes for GET /manifests/sha256:… → ERR_DIGEST_MISMATCH, nothing written', async () => {
    proxy.reset();
    const other = withDoc((d) => { d.annotations = { evil: 'yes' }; });
    proxy.setRules([{ method: 'GET', path: new RegExp(`/manifests/${good.digest}$`), kind: 'replace', body: other, headers: { 'docker-content-digest': good.digest } }]);
    for (const extract of [false, true]) {
      const { err, dest } = await viaLibrary({ host: proxy.host, repository, reference: good.digest }, extract);
      expect(err).toMatchObject({ code: 'ERR_DIGEST_MISMATCH', details: { expected: good.digest, actual: digestOf(Buffer.from(other)) } });
      expect(tree(dest)).toEqual([]);
    }
    const r = await viaInstall(`${proxy.host}/${repository}@${good.digest}`);
    expect(r.code).toBe(1);
    expect(r.error.code).toBe('ERR_DIGEST_MISMATCH');
    expect(r.written).toEqual([]);
  });

  it('by tag: bytes that differ from the announced Docker-Content-Digest → ERR_DIGEST_MISMATCH', async () => {
    proxy.reset();
    proxy.setRules([{ method: 'GET', path: /\/manifests\/1\.0\.0$/, kind: 'replace', body: withDoc((d) => { d.annotations = { evil: 'yes' }; }) }]);
    const { err, dest } = await viaLibrary({ host: proxy.host, repository, reference: '1.0.0' }, true);
    expect(err).toMatchObject({ code: 'ERR_DIGEST_MISMATCH', details: { expected: good.digest } });
    expect(tree(dest)).toEqual([]);
  });
});

describe('hostile configs (pushed as they are)', () => {
  const layerOf = async (): Promise<Buffer> => {
    const blob = await client.repository({ registry: reg.host, repository }).fetch(good.doc.layers[0] as never);
    const chunks: Buffer[] = [];
    for await (const c of blob as AsyncIterable<Buffer>) chunks.push(c);
    return Buffer.concat(chunks);
  };
  const CONFIGS: { name: string; config: () => string; code: string; message: RegExp; pullOk?: boolean }[] = [
    { name: 'invalid JSON', config: () => '{"name": "x", ', code: 'ERR_INVALID_CONFIG', message: /not JSON/ },
    { name: 'a JSON string', config: () => '"hello"', code: 'ERR_INVALID_CONFIG', message: /expected a JSON object/ },
    { name: 'dependencies as a string', config: () => '{"name":"x","version":"1.0.0","dependencies":"falco-rules:3"}', code: 'ERR_INVALID_CONFIG', message: /dependencies: expected an array/ },
    { name: 'version as a number', config: () => '{"name":"x","version":42}', code: 'ERR_INVALID_CONFIG', message: /version: expected a string/ },
    { name: 'requirements of numbers', config: () => '{"name":"x","version":"1.0.0","requirements":[1,2]}', code: 'ERR_INVALID_CONFIG', message: /requirements\[0\]/ },
    { name: 'a huge config (5 MiB)', config: () => JSON.stringify({ name: 'x', version: '1.0.0', pad: 'y'.repeat(5 * 1024 * 1024) }), code: 'ERR_INVALID_CONFIG', message: /limit/ },
    { name: 'a version that is not semver', config: () => '{"name":"x","version":"banana"}', code: 'ERR_INVALID_CONFIG', message: /banana/, pullOk: true },
    {
      name: 'a dependency version that is not semver', config: () => '{"name":"x","version":"1.0.0","dependencies":[{"name":"falco-rules","version":"latest-and-greatest"}]}',
      code: 'ERR_INVALID_CONFIG', message: /latest-and-greatest/, pullOk: true,
    },
  ];
  for (const c of CONFIGS) {
    it(`${c.name}: ${c.code}, nothing written`, async () => {
      const repo = uniqueRepo('proof/hostile-config');
      const target = pub.repository({ registry: reg.host, repository: repo });
      await publishRaw(target, { config: c.config(), layer: await layerOf(), title: 'proof_hostile.tar.gz', tag: '1.0.0' });
      if (!c.pullOk) {
        const { err, dest } = await viaLibrary({ host: reg.host, repository: repo, reference: '1.0.0' }, true);
        expect(err).toMatchObject({ code: c.code, message: expect.stringMatching(c.message) });
        expect(tree(dest)).toEqual([]);
      }
      const r = await viaInstall(`${reg.host}/${repo}:1.0.0`);
      expect(r.code).toBe(1);
      expect(r.error).toMatchObject({ code: c.code, message: expect.stringMatching(c.message) });
      expect(r.written).toEqual([]);
    });
  }
});
