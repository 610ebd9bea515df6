import { ErrorCodes, RulesctlError } from '../errors.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../oci/descriptor.js';
import { isIndexMediaType } from '../oci/media-types.js';
import type { OpOptions, Target } from '../oci/target.js';

export interface TargetPlatform {
  os: string;
  architecture: string;
}

/** How manifests are read (default: `target.fetchManifest`); install passes a cache-first reader. */
export type ManifestFetcher = (reference: string | Descriptor, opts: OpOptions) => Promise<{ descriptor: Descriptor; bytes: Buffer }>;

export interface ResolveManifestOptions extends OpOptions {
  /** Reads the root (by `reference`) and the platform manifest (by descriptor); must verify what it returns. */
  fetchManifest?: ManifestFetcher;
}

export interface ResolvedManifest {
  /** What `reference` resolves to (the index, for plugins). */
  root: Descriptor;
  /** The selected image manifest. */
  descriptor: Descriptor;
  bytes: Buffer;
  manifest: ImageManifest;
}

/**
 * Resolves `reference` and, when it names an index, selects the first manifest whose `os` and
 * `architecture` both equal `platform` (falcoctl.md §4), else ERR_PLATFORM_NOT_FOUND
 * `unable to find a manifest matching the given platform: <os>/<arch>`. A plain manifest ignores the
 * platform. Fails with ERR_INVALID_MANIFEST `no layers in manifest` when layers are empty.
 * `opts.fetchManifest` replaces how the two manifests are read, never how they are checked.
 */
export async function resolveManifest(target: Target, reference: string, platform: TargetPlatform, opts: ResolveManifestOptions = {}): Promise<ResolvedManifest> {
  const { fetchManifest = (ref, o) => target.fetchManifest(ref, o), ...io } = opts;
  const root = await fetchManifest(reference, io);
  let descriptor = root.descriptor;
  let bytes = root.bytes;
  let doc = parseJson(bytes, reference);
  if (isIndexMediaType(root.descriptor.mediaType) || isIndexMediaType(doc.mediaType as string | undefined)) {
    const manifests = (doc as unknown as ImageIndex).manifests;
    if (!Array.isArray(manifests)) throw invalid(reference, 'the index has no "manifests" list');
    const match = manifests.find((m) => m?.platform?.os === platform.os && m.platform.architecture === platform.architecture);
    if (!match) {
      throw new RulesctlError(ErrorCodes.PLATFORM_NOT_FOUND, `unable to find a manifest matching the given platform: ${platform.os}/${platform.architecture}`, {
        hint: `available: ${manifests.map((m) => (m?.platform ? `${m.platform.os}/${m.platform.architecture}` : '?')).join(', ') || 'none'}; choose one with --platform`,
      });
    }
    ({ descriptor, bytes } = await fetchManifest(match, io));
    doc = parseJson(bytes, reference);
  }
  const manifest = doc as unknown as ImageManifest;
  // image-spec: schemaVersion MUST be 2 (schema 1 and unknown future layouts are not read as v2).
  if (doc.schemaVersion !== 2) throw invalid(reference, `schemaVersion ${JSON.stringify(doc.schemaVersion ?? null)}, expected 2`);
  if (!Array.isArray(manifest.layers) || manifest.layers.length === 0) {
    throw new RulesctlError(ErrorCodes.INVALID_MANIFEST, 'no layers in manifest', { details: { reference } });
  }
  if (!manifest.config || typeof manifest.config.digest !== 'string') throw invalid(reference, 'the manifest has no config descriptor');
  return { root: root.descriptor, descriptor, bytes, manifest };
}

function parseJson(bytes: Buffer, reference: string): Record<string, unknown> {
  try {
    const doc: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw invalid(reference, 'not a JSON object');
}

function invalid(reference: string, reason: string): RulesctlError {
  return new RulesctlError(ErrorCodes.INVALID_MANIFEST, `invalid manifest for "${reference}": ${reason}`);
}
