import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { create as createTar } from 'tar';
import { descriptorFor, type Descriptor, type Platform } from '../../../../src/oci/descriptor.js';
import { MediaTypes } from '../../../../src/oci/media-types.js';
import type { Target } from '../../../../src/oci/target.js';

export const FALCO_CONFIG = 'application/vnd.cncf.falco.rulesfile.config.v1+json';
export const FALCO_LAYER = 'application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz';

export interface Pushed {
  manifest: Descriptor;
  manifestBytes: Buffer;
  config: Descriptor;
  layer: Descriptor;
}

/** Pushes a falco-like rulesfile artifact (config + one tar.gz layer with a title) and tags it. */
export async function pushRulesfile(target: Target, tag: string | undefined, opts: { content?: string; layer?: Buffer; platform?: Platform } = {}): Promise<Pushed> {
  const configBytes = Buffer.from(JSON.stringify({ name: 'falco-rules', version: '1.0.0', dependencies: [] }));
  const layerBytes = opts.layer ?? gzipSync(Buffer.from(opts.content ?? '- rule: demo\n'));
  const config = descriptorFor(FALCO_CONFIG, configBytes);
  const layer = descriptorFor(FALCO_LAYER, layerBytes, { annotations: { 'org.opencontainers.image.title': 'falco_rules.yaml.tar.gz' } });
  await target.push(config, configBytes);
  await target.push(layer, layerBytes);
  const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers: [layer] }));
  const manifest = descriptorFor(MediaTypes.ociManifest, manifestBytes, opts.platform ? { platform: opts.platform } : {});
  await target.pushManifest(manifest, manifestBytes, tag);
  return { manifest, manifestBytes, config, layer };
}

/** Pushes an index over one rulesfile-like manifest per platform (a plugin artifact's shape). */
export async function pushMultiPlatform(target: Target, tag: string): Promise<{ index: Descriptor; children: Pushed[] }> {
  const platforms: Platform[] = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
  ];
  const children: Pushed[] = [];
  for (const p of platforms) children.push(await pushRulesfile(target, undefined, { content: `plugin for ${p.architecture}`, platform: p }));
  const indexBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: children.map((c) => c.manifest) }));
  const index = descriptorFor(MediaTypes.ociIndex, indexBytes);
  await target.pushManifest(index, indexBytes, tag);
  return { index, children };
}

export async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** A real falco rules tarball (`falco_rules.yaml` in a gzipped tar), built in `workDir`. */
export async function falcoRulesTarball(workDir: string, rules = '- rule: Demo\n  desc: demo\n  condition: evt.type = open\n  output: demo\n  priority: INFO\n'): Promise<Buffer> {
  await writeFile(join(workDir, 'falco_rules.yaml'), rules);
  const tgz = join(workDir, 'falco_rules.yaml.tar.gz');
  await createTar({ gzip: true, cwd: workDir, file: tgz, portable: true }, ['falco_rules.yaml']);
  return readFile(tgz);
}
