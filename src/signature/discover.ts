import type { Readable } from 'node:stream';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../errors.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../oci/descriptor.js';
import { isIndexMediaType } from '../oci/media-types.js';
import type { OpOptions, Target } from '../oci/target.js';
import { CosignMediaTypes, isBundleMediaType, legacySignatureTag, referrersTag } from './media-types.js';

/**
 * The registry client's referrers lookup (`GET /v2/<name>/referrers/<digest>`, falling back to the
 * `<alg>-<hex>` tag on 404). Either the index or its `manifests` list is accepted.
 */
export type ReferrersFn = (digest: string, artifactType?: string, opts?: OpOptions) => Promise<ImageIndex | Descriptor[]>;

/** A cosign v3 bundle found through a referrer manifest whose `subject` is the signed digest. */
export interface BundleCandidate {
  kind: 'bundle';
  /** The referrer manifest. */
  manifest: Descriptor;
  /** Its bundle layer. */
  layer: Descriptor;
  /** The parsed bundle JSON (not yet validated). */
  json: unknown;
}

/** One layer of a legacy `sha256-<hex>.sig` manifest: a simple-signing payload and its annotations. */
export interface LegacyCandidate {
  kind: 'legacy';
  manifest: Descriptor;
  tag: string;
  layer: Descriptor;
  payload: Buffer;
}

export type SignatureCandidate = BundleCandidate | LegacyCandidate;

export interface DiscoverOptions extends OpOptions {
  target: Target;
  /** The signed root digest (`sha256:…`). */
  digest: string;
  /** Use the registry's referrers API; without it the `<alg>-<hex>` fallback tag is read. */
  referrers?: ReferrersFn;
}

export interface DiscoveredSignatures {
  /** Bundles first (cosign v3), then legacy layers (cosign v2): the order to try them in. */
  candidates: SignatureCandidate[];
  /** Referrers or layers that were skipped, and why (for error messages). */
  skipped: string[];
}

/** Payloads and bundles are a few KiB; anything larger is not a signature we read into memory. */
const MAX_SIGNATURE_BLOB = 1 << 20;

/**
 * Finds the signatures of `<target>@<digest>` as cosign does: v3 bundles from the referrers
 * (or the tag-schema fallback index) first, then the layers of the legacy `.sig` tag (spec
 * falcoctl.md §14, registries.md §4.4; cosign BUNDLE_SPEC.md, SIGNATURE_SPEC.md). Absent
 * signatures give an empty list; registry failures other than "not found" are thrown, so that an
 * unreachable signature never reads as "unsigned".
 */
export async function discoverSignatures(opts: DiscoverOptions): Promise<DiscoveredSignatures> {
  const skipped: string[] = [];
  const bundles = await findBundles(opts, skipped);
  const legacy = await findLegacy(opts, skipped);
  return { candidates: [...bundles, ...legacy], skipped };
}

async function listReferrers(opts: DiscoverOptions): Promise<Descriptor[]> {
  const { target, digest, signal } = opts;
  if (opts.referrers !== undefined) {
    const res = await opts.referrers(digest, undefined, { signal });
    return Array.isArray(res) ? res : (res.manifests ?? []);
  }
  const found = await fetchManifestOrUndefined(target, referrersTag(digest), signal);
  if (found === undefined) return [];
  const index = parseJson(found.bytes) as Partial<ImageIndex> | undefined;
  // GitLab answers the fallback tag with the subject itself: only an index counts.
  if (!isIndexMediaType(index?.mediaType ?? found.descriptor.mediaType) || !Array.isArray(index?.manifests)) return [];
  return index.manifests;
}

async function findBundles(opts: DiscoverOptions, skipped: string[]): Promise<BundleCandidate[]> {
  const out: BundleCandidate[] = [];
  for (const desc of await listReferrers(opts)) {
    if (desc.artifactType !== undefined && !isBundleMediaType(desc.artifactType)) continue;
    const found = await fetchManifestOrUndefined(opts.target, desc, opts.signal);
    if (found === undefined) {
      skipped.push(`referrer ${desc.digest} is listed but missing`);
      continue;
    }
    const manifest = parseJson(found.bytes) as Partial<ImageManifest> | undefined;
    if (manifest?.subject?.digest !== opts.digest) {
      skipped.push(`referrer ${desc.digest} has subject ${manifest?.subject?.digest ?? 'none'}, not ${opts.digest}`);
      continue;
    }
    if (!isBundleMediaType(manifest.artifactType ?? manifest.config?.mediaType)) continue;
    for (const layer of manifest.layers ?? []) {
      if (!isBundleMediaType(layer.mediaType)) continue;
      const json = parseJson(await readSmallBlob(opts.target, layer, opts.signal));
      if (json === undefined) skipped.push(`bundle ${layer.digest} in referrer ${desc.digest} is not JSON`);
      else out.push({ kind: 'bundle', manifest: desc, layer, json });
    }
  }
  return out;
}

async function findLegacy(opts: DiscoverOptions, skipped: string[]): Promise<LegacyCandidate[]> {
  const tag = legacySignatureTag(opts.digest);
  const found = await fetchManifestOrUndefined(opts.target, tag, opts.signal);
  if (found === undefined) return [];
  const manifest = parseJson(found.bytes) as Partial<ImageManifest> | undefined;
  const out: LegacyCandidate[] = [];
  for (const layer of manifest?.layers ?? []) {
    if (layer.mediaType !== CosignMediaTypes.simpleSigning) {
      skipped.push(`layer ${layer.digest} of ${tag} has media type ${layer.mediaType}`);
      continue;
    }
    const payload = await readSmallBlob(opts.target, layer, opts.signal);
    out.push({ kind: 'legacy', manifest: found.descriptor, tag, layer, payload });
  }
  return out;
}

async function fetchManifestOrUndefined(target: Target, reference: string | Descriptor, signal: AbortSignal | undefined) {
  try {
    return await target.fetchManifest(reference, { signal });
  } catch (err) {
    if (isRulesctlError(err, ErrorCodes.NOT_FOUND)) return undefined;
    throw err;
  }
}

/** Reads a signature-sized blob through the target's verifying stream. */
export async function readSmallBlob(target: Target, desc: Descriptor, signal?: AbortSignal): Promise<Buffer> {
  if (desc.size > MAX_SIGNATURE_BLOB) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, `signature blob ${desc.digest} in ${target.name} is ${desc.size} bytes, more than ${MAX_SIGNATURE_BLOB}`);
  }
  const stream: Readable = await target.fetch(desc, { signal });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
