/** Helpers for install tests: publish Falco artifacts to the test registry, write index files, snapshot dirs. */
import { lstatSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildArtifact } from '../../../src/artifact/build.js';
import type { ArtifactDependency, ArtifactRequirement } from '../../../src/artifact/config.js';
import { FalcoMediaTypes, type ArtifactType } from '../../../src/artifact/media-types.js';
import { pushArtifact } from '../../../src/artifact/push.js';
import { Annotations, descriptorFor, type Descriptor } from '../../../src/oci/descriptor.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import type { Target } from '../../../src/oci/target.js';
import { tmpDir } from '../../helpers/tmp.js';

export const PLATFORM = { os: 'linux', architecture: 'amd64' } as const;
const CREATED = '2025-01-01T00:00:00Z';

export interface PublishInput {
  type: ArtifactType;
  name: string;
  version: string;
  /** File name inside the layer (default from the name and type). */
  file?: string;
  content?: string;
  dependencies?: ArtifactDependency[];
  requirements?: ArtifactRequirement[];
  tags?: string[];
}

/** Builds and pushes one artifact with rulesctl's own library; returns the root digest. */
export async function publish(target: Target, input: PublishInput): Promise<string> {
  const dir = tmpDir('install-publish');
  const file = input.file ?? (input.type === 'plugin' ? `lib${input.name}.so` : input.type === 'asset' ? `${input.name}.json` : `${input.name.replace(/-/g, '_')}.yaml`);
  await writeFile(join(dir, file), input.content ?? `# ${input.name} ${input.version}\n- list: l_${input.name.replace(/-/g, '_')}\n  items: []\n`);
  const built = await buildArtifact({
    type: input.type, name: input.name, version: input.version, created: CREATED, workDir: join(dir, 'work'),
    files: [{ path: join(dir, file), ...(input.type === 'plugin' ? { platform: `${PLATFORM.os}/${PLATFORM.architecture}` } : {}) }],
    ...(input.dependencies ? { dependencies: input.dependencies } : {}),
    ...(input.requirements ? { requirements: input.requirements } : {}),
  });
  const r = await pushArtifact(target, built, { tags: input.tags ?? [input.version] });
  return r.rootDigest;
}

/** Pushes raw layer bytes (hostile archives) as a rulesfile artifact, byte for byte. */
export async function publishRawLayer(target: Target, layer: Buffer, name: string, tag: string): Promise<string> {
  const media = FalcoMediaTypes.rulesfile;
  const config = Buffer.from(JSON.stringify({ name, version: '1.0.0' }));
  const configDesc = descriptorFor(media.config, config);
  const layerDesc: Descriptor = { ...descriptorFor(media.layer, layer), annotations: { [Annotations.title]: `${name}.tar.gz` } };
  await target.push(configDesc, config);
  await target.push(layerDesc, layer);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [layerDesc] }));
  const desc = descriptorFor(MediaTypes.ociManifest, manifest);
  await target.pushManifest(desc, manifest, tag);
  return desc.digest;
}

export interface EntryInput {
  name: string;
  type: ArtifactType;
  registry: string;
  repository: string;
  signature?: string;
}

/** Writes an index.yaml (falcoctl format) and returns its file:// URL. */
export async function writeIndex(dir: string, entries: EntryInput[]): Promise<string> {
  const text = entries.map((e) => [
    `- name: ${e.name}`, `  type: ${e.type}`, `  registry: "${e.registry}"`, `  repository: ${e.repository}`,
    ...(e.signature ? [e.signature] : []),
    `  description: test ${e.name}`, '  home: ""', '  keywords:', `    - ${e.name}`, '  license: apache-2.0', '  maintainers: []', '  sources: []',
  ].join('\n')).join('\n');
  const path = join(dir, 'index.yaml');
  await writeFile(path, `${text}\n`);
  return pathToFileURL(path).href;
}

/** Install destination dirs under a fresh temp dir. */
export async function destinations(): Promise<{ root: string; rulesfilesDir: string; pluginsDir: string; assetsDir: string; stateDir: string }> {
  const root = tmpDir('install-dest');
  const d = { root, rulesfilesDir: join(root, 'rules'), pluginsDir: join(root, 'plugins'), assetsDir: join(root, 'assets'), stateDir: join(root, 'state') };
  for (const p of [d.rulesfilesDir, d.pluginsDir, d.assetsDir, d.stateDir]) await mkdir(p);
  return d;
}

/**
 * Every path under `dir` with its inode, mtime and size (hidden files and dirs included), except
 * rulesctl's scratch area `<stateDir>/.rulesctl/work` (never a destination).
 */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (p.endsWith('/state/.rulesctl')) continue;
      const s = lstatSync(p, { bigint: true });
      out[p] = `${s.isDirectory() ? 'd' : 'f'} ino=${s.ino} mtime=${s.mtimeNs} size=${s.size} mode=${s.mode}`;
      if (s.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

export { copyFile };
