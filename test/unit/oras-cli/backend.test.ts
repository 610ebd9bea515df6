import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildArtifact, type BuiltArtifact } from '../../../src/artifact/build.js';
import { pushArtifact } from '../../../src/artifact/push.js';
import { planTags } from '../../../src/artifact/tags.js';
import { orasPushArtifact, type OrasSession } from '../../../src/oci/oras-cli/backend.js';
import { orasPullArtifact } from '../../../src/oci/oras-cli/pull.js';
import type { OrasRunner } from '../../../src/oci/oras-cli/run.js';
import { MemoryStore } from '../../../src/oci/memory/store.js';
import { parseReference } from '../../../src/oci/reference.js';

let dir: string;
let plugin: BuiltArtifact;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rulesctl-oras-unit-'));
  for (const arch of ['amd64', 'arm64']) {
    mkdirSync(join(dir, arch));
    writeFileSync(join(dir, arch, 'libdummy.so'), `ELF ${arch}`);
  }
  plugin = await buildArtifact({
    type: 'plugin', name: 'dummy', version: '0.1.0', created: '2025-01-01T00:00:00Z',
    files: [{ path: join(dir, 'amd64/libdummy.so'), platform: 'linux/amd64' }, { path: join(dir, 'arm64/libdummy.so'), platform: 'linux/arm64' }],
  });
});
afterEach(async () => {
  await plugin.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const arg = (args: readonly string[], flag: string): string => args[args.indexOf(flag) + 1]!;

describe('orasPushArtifact', () => {
  it('runs oras push per manifest (in the layer dir), manifest push for the index, tag for the rest; password on stdin only', async () => {
    const calls: { args: readonly string[]; cwd?: string; input?: string }[] = [];
    let i = 0;
    const runner: OrasRunner = async (args, o) => {
      calls.push({ args, ...(o.cwd ? { cwd: o.cwd } : {}), ...(o.input ? { input: o.input } : {}) });
      if (args[0] === 'push') {
        expect(JSON.parse(readFileSync(arg(args, '--annotation-file'), 'utf8'))).toEqual({ $manifest: { 'org.opencontainers.image.created': '2025-01-01T00:00:00Z' } });
        expect(readFileSync(arg(args, '--config').split(':')[0]!).equals(plugin.config.bytes)).toBe(true);
        writeFileSync(arg(args, '--export-manifest'), plugin.manifests[i++]!.bytes);
      }
      if (args[0] === 'manifest') expect(readFileSync(args[3]!).equals(plugin.root.bytes)).toBe(true);
      return { stdout: Buffer.alloc(0), stderr: '', exitCode: 0 };
    };
    const s: OrasSession = { runner, remote: { plainHttp: true, credential: { kind: 'basic', username: 'alice' } }, secret: 's3cret' };
    await orasPushArtifact(s, plugin, parseReference('h:5000/p/dummy:0.1.0'), planTags('0.1.0', ['0.1.0', '0', '0.1']));
    expect(calls.map((c) => c.args.slice(0, 2).join(' '))).toEqual(['push h:5000/p/dummy', 'push h:5000/p/dummy', 'manifest push', 'tag h:5000/p/dummy@' + plugin.root.descriptor.digest]);
    expect(calls[0]!.cwd).toBe(join(plugin.manifests[0]!.layer.path, '..'));
    expect(calls[0]!.args.at(-1)).toBe('libdummy.tar.gz:application/vnd.cncf.falco.plugin.layer.v1+tar.gz');
    expect(calls[2]!.args[2]).toBe('h:5000/p/dummy:0.1.0');
    expect(calls[3]!.args.slice(2, 5)).toEqual(['0.1.0', '0', '0.1']);
    for (const c of calls) {
      expect(c.input).toBe('s3cret');
      expect(c.args).not.toContain('s3cret');
      expect(c.args).toContain('--plain-http');
    }
  });

  it('refuses a manifest oras packed differently from rulesctl', async () => {
    const runner: OrasRunner = async (args) => {
      if (args[0] === 'push') writeFileSync(arg(args, '--export-manifest'), '{"schemaVersion":2}');
      return { stdout: Buffer.alloc(0), stderr: '', exitCode: 0 };
    };
    await expect(orasPushArtifact({ runner, remote: {} }, plugin, parseReference('h/p/dummy:1'), planTags('1', [])))
      .rejects.toMatchObject({ code: 'ERR_ORAS', hint: expect.stringContaining('--backend native') });
  });
});

/** A fake `oras` reading from a memory store, as the real one reads a registry. */
function fakeOras(store: MemoryStore, tamper = false): OrasRunner {
  return async (args) => {
    const ref = args[args[0] === 'pull' ? 1 : 2]!;
    const after = ref.slice(ref.indexOf('/', 0) + 1).replace(/^p\/dummy/, '');
    const want = after.startsWith('@') ? after.slice(1) : after.slice(1);
    const ok = (stdout: Buffer) => ({ stdout, stderr: '', exitCode: 0 });
    if (args[0] === 'manifest') return ok((await store.fetchManifest(want)).bytes);
    if (args[0] === 'blob') {
      const chunks: Buffer[] = [];
      for await (const c of await store.fetch({ mediaType: 'application/octet-stream', digest: want, size: plugin.config.bytes.length })) chunks.push(c as Buffer);
      return ok(Buffer.concat(chunks));
    }
    const manifest = JSON.parse((await store.fetchManifest(want)).bytes.toString('utf8'));
    const layer = manifest.layers[0];
    const chunks: Buffer[] = [];
    for await (const c of await store.fetch(layer)) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    if (tamper) bytes[bytes.length - 1]! ^= 1;
    writeFileSync(join(arg(args, '--output'), layer.annotations['org.opencontainers.image.title']), bytes);
    return ok(Buffer.alloc(0));
  };
}

describe('orasPullArtifact', () => {
  it('selects the platform itself, pulls by manifest digest, verifies, renames into the destination', async () => {
    const store = new MemoryStore({ name: 'memory' });
    await pushArtifact(store, plugin, { tags: ['0.1.0'] });
    const dest = join(dir, 'dest');
    mkdirSync(dest);
    const res = await orasPullArtifact({ runner: fakeOras(store), remote: {} }, 'h/p/dummy:0.1.0', { platform: { os: 'linux', architecture: 'arm64' }, destDir: dest });
    expect(res).toMatchObject({ reference: 'h/p/dummy:0.1.0', type: 'plugin', rootDigest: plugin.root.descriptor.digest, manifestDigest: plugin.manifests[1]!.descriptor.digest });
    expect(res.config).toEqual({ name: 'dummy', version: '0.1.0' });
    expect(readdirSync(dest)).toEqual(['libdummy.tar.gz']);
    expect(readFileSync(join(dest, 'libdummy.tar.gz')).equals(readFileSync(plugin.manifests[1]!.layer.path))).toBe(true);
    const x = join(dir, 'x');
    mkdirSync(x);
    await orasPullArtifact({ runner: fakeOras(store), remote: {} }, 'h/p/dummy:0.1.0', { platform: { os: 'linux', architecture: 'amd64' }, destDir: x, extract: true });
    expect(readFileSync(join(x, 'libdummy.so'), 'utf8')).toBe('ELF amd64');
  });

  it('a file oras wrote with other bytes fails with a digest error and leaves the destination empty', async () => {
    const store = new MemoryStore({ name: 'memory' });
    await pushArtifact(store, plugin, { tags: ['0.1.0'] });
    const dest = join(dir, 'dest');
    mkdirSync(dest);
    await expect(orasPullArtifact({ runner: fakeOras(store, true), remote: {} }, 'h/p/dummy:0.1.0', { platform: { os: 'linux', architecture: 'amd64' }, destDir: dest }))
      .rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    expect(readdirSync(dest)).toEqual([]);
  });
});
