import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildArtifact } from '../../../src/artifact/build.js';
import { createdFromEpoch } from '../../../src/artifact/manifest.js';
import { pushArtifact } from '../../../src/artifact/push.js';
import { floatingTags, planTags } from '../../../src/artifact/tags.js';
import { TestTarget } from './_memory-target.js';

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const fixture = (p: string): string => new URL(`../../../fixtures/${p}`, import.meta.url).pathname;
const CREATED = '2025-01-01T00:00:00Z';
const SOURCE = 'https://github.com/falcosecurity/rules.git';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rulesctl-build-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('buildArtifact', () => {
  it('builds the rulesfile manifest of falcoctl.md §1 byte for byte', async () => {
    const src = join(dir, 'falco_rules.yaml');
    copyFileSync(fixture('rules/valid_rules.yaml'), src);
    chmodSync(src, 0o644);
    const built = await buildArtifact({
      type: 'rulesfile', files: [{ path: src }], name: 'falco-rules', version: '5.1.0',
      requirements: [{ name: 'engine_version_semver', version: '0.57.0' }], annotationSource: SOURCE, created: CREATED,
    });
    const config = '{"name":"falco-rules","version":"5.1.0","requirements":[{"name":"engine_version_semver","version":"0.57.0"}]}';
    expect(built.config.bytes.toString()).toBe(config);
    const layer = readFileSync(built.manifests[0]!.layer.path);
    const expected =
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' +
      `"config":{"mediaType":"application/vnd.cncf.falco.rulesfile.config.v1+json","digest":"${sha(config)}","size":${config.length}},` +
      `"layers":[{"mediaType":"application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz","digest":"${sha(layer)}","size":${layer.length},` +
      '"annotations":{"org.opencontainers.image.title":"falco_rules.tar.gz"}}],' +
      '"annotations":{"org.opencontainers.image.created":"2025-01-01T00:00:00Z","org.opencontainers.image.source":"https://github.com/falcosecurity/rules.git"}}';
    expect(built.root.bytes.toString()).toBe(expected);
    expect(built.root.descriptor).toEqual({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(expected), size: expected.length });
    await built.dispose();
  });

  it('always wraps plugins in an index with platform, annotations copy and artifactType', async () => {
    const built = await buildArtifact({
      type: 'plugin', name: 'dummy', version: '0.1.0', created: CREATED,
      files: [{ path: fixture('plugins/libdummy-amd64.so'), platform: 'linux/amd64' }, { path: fixture('plugins/libdummy-arm64.so'), platform: 'linux/arm64' }],
    });
    const [m1, m2] = built.manifests as [typeof built.manifests[0], typeof built.manifests[0]];
    expect(m1.layer.title).toBe('libdummy-amd64.tar.gz');
    const entry = (m: typeof m1, arch: string): string =>
      `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"${sha(m.bytes)}","size":${m.bytes.length},` +
      '"annotations":{"org.opencontainers.image.created":"2025-01-01T00:00:00Z"},' +
      `"platform":{"architecture":"${arch}","os":"linux"},"artifactType":"application/vnd.cncf.falco.plugin.config.v1+json"}`;
    const expected = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[${entry(m1, 'amd64')},${entry(m2, 'arm64')}]}`;
    expect(built.root.bytes.toString()).toBe(expected);
    expect(built.root.descriptor.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(m1.bytes.toString()).not.toContain('platform');
    await built.dispose();
  });

  it('enforces falcoctl counts and platform formats', async () => {
    const f = { path: fixture('plugins/libdummy-amd64.so') };
    await expect(buildArtifact({ type: 'rulesfile', files: [f, f], name: 'n', version: '1.0.0', created: CREATED })).rejects.toThrow(
      'expecting 1 rulesfile object, received 2: invalid number of rulesfiles',
    );
    await expect(buildArtifact({ type: 'rulesfile', files: [{ path: dir }], name: 'n', version: '1.0.0', created: CREATED })).rejects.toThrow('is a directory');
    await expect(buildArtifact({ type: 'plugin', files: [f], name: 'n', version: '1.0.0', created: CREATED })).rejects.toThrow(
      '"filepaths" length (1) must match "platforms" length (0)',
    );
    await expect(buildArtifact({ type: 'plugin', files: [{ ...f, platform: 'Linux/amd64' }], name: 'n', version: '1.0.0', created: CREATED })).rejects.toThrow(
      'seems to be in the wrong format',
    );
  });

  it('formats created from an epoch like oras', () => {
    expect(createdFromEpoch(1747054976)).toBe('2025-05-12T13:02:56Z');
  });
});

describe('user archives', () => {
  it('pushes a user .tar.gz byte for byte under its own name', async () => {
    const user = fixture('archives/benign.tar.gz');
    const built = await buildArtifact({ type: 'asset', files: [{ path: user }], name: 'a', version: '1.0.0', created: CREATED });
    const target = new TestTarget();
    await pushArtifact(target, built, { tags: ['1.0.0'] });
    const layer = built.manifests[0]!.layerDescriptor;
    expect(layer.annotations).toEqual({ 'org.opencontainers.image.title': 'benign.tar.gz' });
    expect(target.blobs.get(layer.digest)!.equals(readFileSync(user))).toBe(true);
    expect(built.manifests[0]!.layer.packed).toBe(false);
    await built.dispose();
  });
});

describe('tags', () => {
  it('floating tags follow falcoctl order', () => {
    expect(floatingTags('1.1.1')).toEqual(['1.1.1', '1', '1.1']);
    expect(floatingTags('1.2.3-rc1')).toEqual(['1.2.3-rc1', '1', '1.2']);
    expect(() => floatingTags('1.2')).toThrow('expected semver for the flag "--version"');
  });

  it('plans the first PUT and TagN like the pusher', () => {
    expect(planTags(undefined, [])).toEqual({ first: 'latest', then: [] });
    expect(planTags(undefined, ['a'])).toEqual({ first: 'a', then: [] });
    expect(planTags(undefined, ['a', 'b'])).toEqual({ first: 'a', then: ['a', 'b'] });
    expect(planTags('v1', ['a'])).toEqual({ first: 'v1', then: ['a'] });
  });
});

describe('pushArtifact', () => {
  it('pushes config, layer, manifests by digest, then the index under the first tag, then the others', async () => {
    const built = await buildArtifact({
      type: 'plugin', name: 'dummy', version: '1.1.1', created: CREATED,
      files: [{ path: fixture('plugins/libdummy-amd64.so'), platform: 'linux/amd64' }, { path: fixture('plugins/libdummy-arm64.so'), platform: 'linux/arm64' }],
    });
    const target = new TestTarget();
    const events: string[] = [];
    const res = await pushArtifact(target, built, { tags: floatingTags('1.1.1'), onProgress: (e) => e.phase !== 'bytes' && events.push(`${e.phase} ${e.kind}`) });
    const [m1, m2] = built.manifests;
    expect(target.calls).toEqual([
      `push application/vnd.cncf.falco.plugin.config.v1+json ${built.config.descriptor.digest}`,
      `push application/vnd.cncf.falco.plugin.layer.v1+tar.gz ${m1!.layer.digest}`,
      `manifest application/vnd.oci.image.manifest.v1+json ${m1!.descriptor.digest}`,
      `push application/vnd.cncf.falco.plugin.layer.v1+tar.gz ${m2!.layer.digest}`,
      `manifest application/vnd.oci.image.manifest.v1+json ${m2!.descriptor.digest}`,
      'manifest application/vnd.oci.image.index.v1+json 1.1.1',
      'tag 1.1.1',
      'tag 1',
      'tag 1.1',
    ]);
    expect(events).toContain('exists config');
    expect(res.tags).toEqual(['1.1.1', '1', '1.1']);
    expect(await target.resolve('1.1')).toMatchObject({ digest: res.rootDigest });

    target.calls.length = 0;
    await pushArtifact(target, built, {});
    expect(target.calls).toEqual(['manifest application/vnd.oci.image.index.v1+json latest']);
    expect((await pushArtifact(target, built, { reference: res.rootDigest, tags: ['x'] })).tags).toEqual(['x']);
    await built.dispose();
  });
});
