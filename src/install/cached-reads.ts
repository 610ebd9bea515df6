import type { ManifestFetcher } from '../artifact/resolve-manifest.js';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { isDigest, type Descriptor } from '../oci/descriptor.js';
import { MediaTypes } from '../oci/media-types.js';
import type { OpOptions, Target } from '../oci/target.js';
import type { MetaStore } from './meta-cache.js';

/** Largest config blob install reads. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * A `ManifestFetcher` for `resolveManifest` that asks the registry only what a cache cannot know:
 * - a tag: `target.resolve` (a HEAD on a registry) gives the digest; cached bytes of that digest
 *   are used, else the manifest is GET by the tag (as without the cache) and kept;
 * - a digest or a descriptor (the platform manifest of an index): cached bytes, else a GET by digest.
 * The tag → digest mapping always comes from the registry; only digest → bytes from the cache.
 */
export function cachedManifestFetcher(target: Target, meta: MetaStore): ManifestFetcher {
  return async (reference, opts) => {
    const known: Descriptor | undefined = typeof reference !== 'string' ? reference
      : isDigest(reference) ? undefined : await target.resolve(reference, opts);
    const digest = known?.digest ?? (reference as string);
    const hit = await meta.get(digest, opts);
    // A size that disagrees with the bytes of that very digest: let the registry answer (and the fetch judge).
    if (hit !== undefined && (known === undefined || known.size === hit.length)) {
      return { descriptor: { mediaType: manifestMediaType(hit, known?.mediaType), digest, size: hit.length }, bytes: hit };
    }
    // By tag on a miss, as without the cache: the GET is verified against its own Docker-Content-Digest.
    const got = await target.fetchManifest(reference, opts);
    await meta.put(got.descriptor.digest, got.bytes, opts);
    return got;
  };
}

/**
 * The media type of manifest bytes that were checked when first fetched: the body's `mediaType`,
 * else the type the registry announced (HEAD `Content-Type`, index entry), else by shape.
 */
export function manifestMediaType(bytes: Buffer, announced?: string): string {
  let body: { mediaType?: unknown; manifests?: unknown } | undefined;
  try {
    body = JSON.parse(bytes.toString('utf8')) as typeof body;
  } catch {
    body = undefined;
  }
  if (typeof body?.mediaType === 'string' && body.mediaType) return body.mediaType;
  if (announced && announced !== 'application/json') return announced;
  return Array.isArray(body?.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
}

/**
 * The config blob `desc` (at most MAX_CONFIG_BYTES, else ERR_INVALID_CONFIG): cached bytes of its
 * digest, else fetched (Target.fetch verifies size and digest while streaming) and kept.
 */
export async function readConfigBytes(target: Target, desc: Descriptor, meta: MetaStore | undefined, opts: OpOptions = {}): Promise<Buffer> {
  if (desc.size > MAX_CONFIG_BYTES) {
    throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `config blob ${desc.digest} is ${desc.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`);
  }
  const hit = await meta?.get(desc.digest, opts);
  if (hit !== undefined && hit.length === desc.size) return hit;
  const chunks: Buffer[] = [];
  for await (const chunk of await target.fetch(desc, opts)) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  await meta?.put(desc.digest, bytes, opts);
  return bytes;
}
