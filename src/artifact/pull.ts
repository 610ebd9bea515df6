import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { Annotations, type Descriptor } from '../oci/descriptor.js';
import type { OpOptions, Target } from '../oci/target.js';
import { parseConfig, type ArtifactConfig } from './config.js';
import { extractToStaging, moveStagedInto, type ExtractOptions } from './extract.js';
import { artifactTypeOfLayer, checkAllowedType, type ArtifactType } from './media-types.js';
import { resolveManifest, type TargetPlatform } from './resolve-manifest.js';

export type { TargetPlatform } from './resolve-manifest.js';

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export interface PullOptions {
  platform: TargetPlatform;
  destDir: string;
  /** Extract the layer with the safe extractor instead of saving `<destDir>/<title>`. */
  extract?: boolean;
  extractOptions?: Omit<ExtractOptions, 'signal'>;
  allowedTypes?: readonly ArtifactType[];
  signal?: AbortSignal;
  /** Layer bytes received so far. */
  onProgress?: (bytes: number) => void;
}

export interface PulledFile {
  path: string;
  size: number;
  digest: string;
}

export interface PullResult {
  reference: string;
  rootDigest: string;
  manifestDigest: string;
  type: ArtifactType;
  config: ArtifactConfig;
  /** The saved `<destDir>/<title>`, or the extracted files. */
  files: PulledFile[];
}

/**
 * `registry pull` (falcoctl.md §3, §4, §15): resolves `reference`, selects the platform's manifest,
 * checks the allowed types, reads the config, then streams `layers[0]` to a temp file in `destDir`,
 * verified against its descriptor, renamed to `<destDir>/<title>` only once complete; with `extract`,
 * the verified stream goes through the safe extractor and files are moved in by rename. On any error
 * the destination is left as it was.
 */
export async function pullArtifact(target: Target, reference: string, opts: PullOptions): Promise<PullResult> {
  const { signal } = opts;
  const resolved = await resolveManifest(target, reference, opts.platform, { signal });
  const layer = resolved.manifest.layers[0]!;
  checkAllowedType(layer.mediaType, opts.allowedTypes);
  const type = artifactTypeOfLayer(layer.mediaType);
  const title = layerTitle(layer);
  const config = parseConfig(await fetchSmallBlob(target, resolved.manifest.config, { signal }), reference);
  // Target.fetch verifies size and digest as bytes flow (src/oci/target.ts contract; every Target here
  // does): hashing again here cost a second SHA-256 pass over every layer.
  const open = (): Promise<Readable> => target.fetch(layer, { signal, onProgress: opts.onProgress });
  const files = opts.extract ? await extractInto(open, opts) : [await saveLayer(await open(), layer, title, opts.destDir, signal)];
  return { reference, rootDigest: resolved.root.digest, manifestDigest: resolved.descriptor.digest, type, config, files };
}

/**
 * The config of `reference` for `platform` (falcoctl RawConfigLayer/ArtifactConfig), with the bytes
 * as stored (for `artifact config`) and the selected manifest's digest.
 */
export async function fetchConfig(
  target: Target,
  reference: string,
  platform: TargetPlatform,
  opts: OpOptions = {},
): Promise<{ config: ArtifactConfig; bytes: Buffer; rootDigest: string; manifestDigest: string; layerMediaType: string }> {
  const resolved = await resolveManifest(target, reference, platform, opts);
  const bytes = await fetchSmallBlob(target, resolved.manifest.config, opts);
  return {
    config: parseConfig(bytes, reference),
    bytes,
    rootDigest: resolved.root.digest,
    manifestDigest: resolved.descriptor.digest,
    layerMediaType: resolved.manifest.layers[0]!.mediaType,
  };
}

async function saveLayer(body: Readable, layer: Descriptor, title: string, destDir: string, signal: AbortSignal | undefined): Promise<PulledFile> {
  const tmp = join(destDir, `.${title}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await pipeline(body, createWriteStream(tmp, { flags: 'wx', mode: 0o644, highWaterMark: 1 << 20 }), { signal });
    const path = join(destDir, title);
    await rename(tmp, path);
    return { path, size: layer.size, digest: layer.digest };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function extractInto(body: () => Promise<Readable>, opts: PullOptions): Promise<PulledFile[]> {
  const staged = await extractToStaging(body, opts.destDir, { ...opts.extractOptions, signal: opts.signal });
  const placed = await moveStagedInto(staged, { signal: opts.signal });
  return staged.files.map((f, i) => ({ path: placed[i]!, size: f.size, digest: f.digest }));
}

/** The layer's title, which must be a plain file name (it becomes a path in the destination). */
export function layerTitle(layer: Descriptor): string {
  const title = layer.annotations?.[Annotations.title];
  if (!title) {
    throw new RulesctlError(ErrorCodes.INVALID_ARTIFACT, `layer ${layer.digest} has no "${Annotations.title}" annotation`, {
      hint: 'falcoctl and rulesctl name the layer file from it; the artifact was not pushed by either',
    });
  }
  if (title === '.' || title === '..' || /[/\\\0]/.test(title)) {
    throw new RulesctlError(ErrorCodes.UNSAFE_ARCHIVE, `refusing layer title "${title}": it must be a plain file name`, { details: { entry: title } });
  }
  return title;
}

async function fetchSmallBlob(target: Target, desc: Descriptor, opts: OpOptions): Promise<Buffer> {
  if (desc.size > MAX_CONFIG_BYTES) {
    throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `config blob ${desc.digest} is ${desc.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of await target.fetch(desc, opts)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

