import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { Annotations, descriptorFor, type Descriptor, type Platform } from '../oci/descriptor.js';
import { MediaTypes } from '../oci/media-types.js';
import { encodeConfig, type ArtifactDependency, type ArtifactRequirement } from './config.js';
import { encodeIndex, encodeManifest, manifestAnnotations } from './manifest.js';
import { FalcoMediaTypes, type ArtifactType } from './media-types.js';
import { prepareLayer, type LayerFile } from './pack.js';

const PLATFORM = /^[a-z]+\/[a-z0-9_]+$/;

export interface BuildInput {
  type: ArtifactType;
  /** One file for rulesfile/asset; one per platform for plugins (`platform` required, `os/arch`). */
  files: { path: string; platform?: string }[];
  name: string;
  version: string;
  dependencies?: ArtifactDependency[];
  requirements?: ArtifactRequirement[];
  annotationSource?: string;
  /** `org.opencontainers.image.created`, RFC 3339 UTC seconds (see createdFromEpoch). */
  created: string;
  /** Where archives are written; default a fresh `rulesctl-registry-push-*` under the OS temp dir. */
  workDir?: string;
  signal?: AbortSignal;
}

export interface BuiltManifest {
  descriptor: Descriptor;
  bytes: Buffer;
  layer: LayerFile;
  /** The layer's descriptor as written in the manifest (with its title annotation). */
  layerDescriptor: Descriptor;
  platform?: Platform;
}

export interface BuiltArtifact {
  type: ArtifactType;
  config: { descriptor: Descriptor; bytes: Buffer };
  manifests: BuiltManifest[];
  /** What the tags point at: the manifest, or for plugins the index. */
  root: { descriptor: Descriptor; bytes: Buffer };
  /** Removes the archives rulesctl wrote (never the user's files). */
  dispose(): Promise<void>;
}

/**
 * Builds config, layers, manifests and (for plugins, always) the index as falcoctl's pusher does
 * (falcoctl.md §1-4). The per-platform manifest descriptors carry the manifest annotations, platform
 * `{architecture, os}` and `artifactType` = config media type. Nothing is pushed.
 * Errors: ERR_USAGE for file/platform counts and formats, ERR_IO for unreadable inputs.
 */
export async function buildArtifact(input: BuildInput): Promise<BuiltArtifact> {
  const platforms = checkFiles(input);
  if (input.type === 'rulesfile' && (await stat(input.files[0]!.path).catch(() => undefined))?.isDirectory()) {
    throw new RulesctlError(ErrorCodes.USAGE, `"${input.files[0]!.path}" is a directory: a rulesfile artifact holds one rules file or a .tar.gz`);
  }
  const ownsWorkDir = input.workDir === undefined;
  const workDir = input.workDir ?? (await mkdtemp(join(tmpdir(), 'rulesctl-registry-push-')));
  const dispose = async (): Promise<void> => {
    if (ownsWorkDir) await rm(workDir, { recursive: true, force: true });
  };
  try {
    const media = FalcoMediaTypes[input.type];
    const configBytes = encodeConfig({ name: input.name, version: input.version, dependencies: input.dependencies, requirements: input.requirements });
    const config = descriptorFor(media.config, configBytes);
    const manifests: BuiltManifest[] = [];
    for (const [i, file] of input.files.entries()) {
      const dir = join(workDir, String(i));
      await mkdir(dir, { recursive: true });
      const layer = await prepareLayer(file.path, dir, { signal: input.signal });
      const layerDesc: Descriptor = { mediaType: media.layer, digest: layer.digest, size: layer.size, annotations: { [Annotations.title]: layer.title } };
      const bytes = encodeManifest({ config, layer: layerDesc, created: input.created, annotationSource: input.annotationSource });
      const platform = platforms[i];
      const descriptor = descriptorFor(MediaTypes.ociManifest, bytes, {
        annotations: manifestAnnotations(input.created, input.annotationSource),
        ...(platform ? { platform } : {}),
        artifactType: media.config,
      });
      manifests.push({ descriptor, bytes, layer, layerDescriptor: layerDesc, ...(platform ? { platform } : {}) });
    }
    const root = input.type === 'plugin' ? indexRoot(manifests, input.annotationSource) : manifestRoot(manifests[0]!);
    return { type: input.type, config: { descriptor: config, bytes: configBytes }, manifests, root, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

function manifestRoot(m: BuiltManifest): BuiltArtifact['root'] {
  return { descriptor: { mediaType: MediaTypes.ociManifest, digest: m.descriptor.digest, size: m.descriptor.size }, bytes: m.bytes };
}

function indexRoot(manifests: BuiltManifest[], source: string | undefined): BuiltArtifact['root'] {
  const bytes = encodeIndex(manifests.map((m) => m.descriptor), source);
  return { descriptor: descriptorFor(MediaTypes.ociIndex, bytes), bytes };
}

/**
 * falcoctl's platform checks, before anything is built or pushed: every `--platform` is `os/arch`
 * whatever the type (pkg/options/artifact.go `Validate`), and a plugin has exactly one per file
 * (pkg/oci/pusher/options.go `WithFilepathsAndPlatforms`). @throws ERR_USAGE quoting the value or counts.
 */
export function checkPlatforms(type: ArtifactType, fileCount: number, platforms: readonly string[]): void {
  for (const p of platforms) {
    if (!PLATFORM.test(p)) {
      throw new RulesctlError(ErrorCodes.USAGE, `platform "${p}" seems to be in the wrong format: needs to be in OS/ARCH and to satisfy the following regexp ^[a-z]+/[a-z0-9_]+$`, {
        hint: 'for example --platform linux/amd64',
      });
    }
  }
  if (type === 'plugin' && (platforms.length !== fileCount || fileCount === 0)) {
    throw new RulesctlError(
      ErrorCodes.USAGE,
      `"filepaths" length (${fileCount}) must match "platforms" length (${platforms.length}): number of filepaths and platform should be the same`,
      { hint: 'give one --platform os/arch per plugin file, in the same order' },
    );
  }
}

/** falcoctl's count and platform checks; returns the parsed platform per file (plugins only). */
function checkFiles(input: BuildInput): (Platform | undefined)[] {
  const n = input.files.length;
  if (input.type !== 'plugin') {
    if (n !== 1) {
      const what = input.type === 'rulesfile' ? 'rulesfile' : 'asset';
      throw new RulesctlError(ErrorCodes.USAGE, `expecting 1 ${what} object, received ${n}: invalid number of ${what}s`);
    }
    return [undefined];
  }
  checkPlatforms(input.type, n, input.files.flatMap((f) => (f.platform === undefined ? [] : [f.platform])));
  return input.files.map((f) => {
    const [os, architecture] = f.platform!.split('/') as [string, string];
    return { architecture, os };
  });
}
