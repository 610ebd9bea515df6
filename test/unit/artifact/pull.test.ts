import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildArtifact, type BuiltArtifact } from '../../../src/artifact/build.js';
import { fetchConfig, pullArtifact } from '../../../src/artifact/pull.js';
import { pushArtifact } from '../../../src/artifact/push.js';
import { descriptorFor } from '../../../src/oci/descriptor.js';
import { TestTarget } from './_memory-target.js';

const fixture = (p: string): string => new URL(`../../../fixtures/${p}`, import.meta.url).pathname;
const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };

let dest: string;
let target: TestTarget;
let plugin: BuiltArtifact;
beforeEach(async () => {
  dest = mkdtempSync(join(tmpdir(), 'rulesctl-pull-'));
  target = new TestTarget();
  plugin = await buildArtifact({
    type: 'plugin', name: 'dummy', version: '0.1.0', created: '2025-01-01T00:00:00Z',
    requirements: [{ name: 'plugin_api_version', version: '3.0.0' }],
    files: [{ path: fixture('plugins/libdummy-amd64.so'), platform: 'linux/amd64' }, { path: fixture('plugins/libdummy-arm64.so'), platform: 'linux/arm64' }],
  });
  await pushArtifact(target, plugin, { tags: ['0.1.0'] });
});
afterEach(async () => {
  await plugin.dispose();
  rmSync(dest, { recursive: true, force: true });
});

describe('pullArtifact', () => {
  it('selects the exact platform and saves <dest>/<title>', async () => {
    const res = await pullArtifact(target, '0.1.0', { platform: arm64, destDir: dest });
    const arm = plugin.manifests[1]!;
    expect(res).toMatchObject({ rootDigest: plugin.root.descriptor.digest, manifestDigest: arm.descriptor.digest, type: 'plugin' });
    expect(res.config).toEqual({ name: 'dummy', version: '0.1.0', requirements: [{ name: 'plugin_api_version', version: '3.0.0' }] });
    expect(readdirSync(dest)).toEqual(['libdummy-arm64.tar.gz']);
    expect(readFileSync(join(dest, 'libdummy-arm64.tar.gz')).equals(readFileSync(arm.layer.path))).toBe(true);
    expect(res.files).toEqual([{ path: join(dest, 'libdummy-arm64.tar.gz'), size: arm.layer.size, digest: arm.layer.digest }]);
  });

  it('extracts with the safe extractor when asked', async () => {
    const res = await pullArtifact(target, '0.1.0', { platform: amd64, destDir: dest, extract: true });
    expect(readdirSync(dest)).toEqual(['libdummy-amd64.so']);
    expect(readFileSync(join(dest, 'libdummy-amd64.so'))).toEqual(readFileSync(fixture('plugins/libdummy-amd64.so')));
    expect(res.files[0]).toMatchObject({ path: join(dest, 'libdummy-amd64.so'), size: 33 });
  });

  it('fails on an unknown platform, a disallowed type, and an empty layer list', async () => {
    await expect(pullArtifact(target, '0.1.0', { platform: { os: 'linux', architecture: 'x86_64' }, destDir: dest })).rejects.toMatchObject({
      code: 'ERR_PLATFORM_NOT_FOUND',
      message: 'unable to find a manifest matching the given platform: linux/x86_64',
    });
    await expect(pullArtifact(target, '0.1.0', { platform: amd64, destDir: dest, allowedTypes: ['rulesfile'] })).rejects.toThrow(
      'cannot download artifact of type "plugin": type not permitted',
    );
    const empty = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: plugin.config.descriptor, layers: [] }));
    await target.pushManifest(descriptorFor('application/vnd.oci.image.manifest.v1+json', empty), empty, 'empty');
    await expect(pullArtifact(target, 'empty', { platform: amd64, destDir: dest })).rejects.toThrow('no layers in manifest');
    const odd = Buffer.from(JSON.stringify({ schemaVersion: 2, config: plugin.config.descriptor, layers: [{ ...plugin.manifests[0]!.layerDescriptor, mediaType: 'application/x-odd' }] }));
    await target.pushManifest(descriptorFor('application/vnd.oci.image.manifest.v1+json', odd), odd, 'odd');
    await expect(pullArtifact(target, 'odd', { platform: amd64, destDir: dest })).rejects.toThrow('unknown media type: "application/x-odd"');
    expect(readdirSync(dest)).toEqual([]);
  });

  it.each([false, true])('leaves the destination untouched when the layer is tampered with (extract: %s)', async (extract) => {
    const layer = plugin.manifests[0]!.layer;
    const stored = target.blobs.get(layer.digest)!;
    const tampered = Buffer.from(stored);
    tampered[tampered.length - 9]! ^= 0xff; // inside the gzip trailer: still the same size
    target.blobs.set(layer.digest, tampered);
    const err = await pullArtifact(target, '0.1.0', { platform: amd64, destDir: dest, extract }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: expect.stringMatching(/ERR_DIGEST_MISMATCH|ERR_INVALID_ARTIFACT/) });
    expect(readdirSync(dest)).toEqual([]);
  });
});

describe('fetchConfig', () => {
  it('returns the stored config bytes for the platform', async () => {
    const res = await fetchConfig(target, '0.1.0', amd64);
    expect(res.bytes.equals(plugin.config.bytes)).toBe(true);
    expect(res.manifestDigest).toBe(plugin.manifests[0]!.descriptor.digest);
    expect(res.layerMediaType).toBe('application/vnd.cncf.falco.plugin.layer.v1+tar.gz');
  });
});
