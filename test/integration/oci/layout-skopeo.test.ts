import { describe, expect, it } from 'vitest';
import { descriptorFor } from '../../../src/oci/descriptor.js';
import { openLayout } from '../../../src/oci/layout/store.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import { skopeo } from '../../helpers/skopeo.js';
import { tmpDir } from '../../helpers/tmp.js';
import { falcoRulesTarball, FALCO_CONFIG, FALCO_LAYER, readStream } from '../../unit/oci/layout/fixtures.js';

/** Writes a falco-like rulesfile artifact (real tar.gz layer with a title) into a new layout. */
async function writeFalcoLayout(dir: string, tag: string) {
  const layerBytes = await falcoRulesTarball(tmpDir('rules-src'));
  const configBytes = Buffer.from(JSON.stringify({ name: 'falco-rules', version: '3.0.0', dependencies: [] }));
  const config = descriptorFor(FALCO_CONFIG, configBytes);
  const layer = descriptorFor(FALCO_LAYER, layerBytes, { annotations: { 'org.opencontainers.image.title': 'falco_rules.yaml.tar.gz' } });
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers: [layer] }));
  const manifest = descriptorFor(MediaTypes.ociManifest, manifestBytes);
  const store = await openLayout(dir, { create: true });
  await store.push(config, configBytes);
  await store.push(layer, layerBytes);
  await store.pushManifest(manifest, manifestBytes, tag);
  return { store, manifest, manifestBytes, config, layer };
}

describe('OCI layout interoperability with skopeo', () => {
  it('skopeo inspects and copies a layout rulesctl wrote', async () => {
    const dir = tmpDir('layout-a');
    const { manifest, manifestBytes } = await writeFalcoLayout(dir, '3.0.0');

    const raw = await skopeo(['inspect', '--raw', `oci:${dir}:3.0.0`]);
    expect(raw.stderr).toBe('');
    expect(raw.exitCode).toBe(0);
    expect(Buffer.from(raw.stdout).equals(manifestBytes)).toBe(true);

    const cfg = await skopeo(['inspect', '--config', '--raw', `oci:${dir}:3.0.0`]);
    expect(cfg.exitCode, cfg.stderr).toBe(0);
    expect(JSON.parse(cfg.stdout)).toMatchObject({ name: 'falco-rules', version: '3.0.0' });

    // skopeo 1.9 refuses the non-raw inspect of any non-image artifact, whatever its store.
    const inspect = await skopeo(['inspect', `oci:${dir}:3.0.0`]);
    expect(inspect.stderr).toContain('unsupported image-specific operation on artifact');

    const dir2 = tmpDir('layout-b');
    const copied = await skopeo(['copy', `oci:${dir}:3.0.0`, `oci:${dir2}:3.0.0`]);
    expect(copied.exitCode, copied.stderr).toBe(0);
    const back = await openLayout(dir2);
    expect((await back.resolve('3.0.0')).digest).toBe(manifest.digest);
  });

  it('skopeo fully inspects an image manifest tagged next to the artifact', async () => {
    const dir = tmpDir('layout-image');
    const { store } = await writeFalcoLayout(dir, 'rules');
    const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} }));
    const config = descriptorFor('application/vnd.oci.image.config.v1+json', configBytes);
    await store.push(config, configBytes);
    const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers: [] }));
    const manifest = descriptorFor(MediaTypes.ociManifest, manifestBytes);
    await store.pushManifest(manifest, manifestBytes, 'image');
    const inspect = await skopeo(['inspect', `oci:${dir}:image`]);
    expect(inspect.exitCode, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ Digest: manifest.digest, Architecture: 'amd64', Os: 'linux' });
  });

  it('reads a layout skopeo wrote', async () => {
    const a = tmpDir('layout-src');
    const { manifest, layer, config } = await writeFalcoLayout(a, 't');
    const b = tmpDir('layout-dst');
    const copied = await skopeo(['copy', `oci:${a}:t`, `oci:${b}:t`]);
    expect(copied.exitCode, copied.stderr).toBe(0);

    const store = await openLayout(b);
    expect(await store.listTags()).toEqual(['t']);
    const resolved = await store.resolve('t');
    expect(resolved).toMatchObject({ mediaType: MediaTypes.ociManifest, digest: manifest.digest, size: manifest.size });
    const { bytes } = await store.fetchManifest('t');
    expect(JSON.parse(bytes.toString())).toMatchObject({ config: { digest: config.digest }, layers: [{ digest: layer.digest }] });
    expect(await readStream(await store.fetch(layer))).toHaveLength(layer.size);
    expect(await readStream(await store.fetch(config))).toHaveLength(config.size);
    // rulesctl can add a tag to skopeo's layout and skopeo still reads both
    await store.tag(resolved, 'latest');
    const again = await skopeo(['inspect', '--raw', `oci:${b}:latest`]);
    expect(again.exitCode, again.stderr).toBe(0);
    const first = await skopeo(['inspect', '--raw', `oci:${b}:t`]);
    expect(first.exitCode, first.stderr).toBe(0);
  });
});
