import { Readable } from 'node:stream';
import type { Descriptor } from '../descriptor.js';
import type { FetchOptions, OpOptions, PushOptions, Target } from '../target.js';
import { blobExists, deleteBlob, fetchBlob } from './blobs.js';
import { deleteManifest, fetchManifest, pushManifest, resolveManifest, tagManifest } from './manifests.js';
import { listReferrers } from './referrers.js';
import type { RepoContext } from './repo-context.js';
import { listTags } from './tags.js';
import { cancelUpload, mountBlob, pushBlob, uploadTo, type MountResult } from './uploads.js';
import { isManifestMediaType } from '../media-types.js';

/**
 * One repository of a registry: the registry implementation of `Target` (src/oci/target.ts) plus
 * the registry-only operations (delete, referrers, mount sessions).
 */
export class RegistryRepository implements Target {
  readonly name: string;
  readonly location: { registry: string; repository: string };
  readonly #repo: RepoContext;

  constructor(repo: RepoContext) {
    this.#repo = repo;
    this.name = repo.name;
    this.location = { registry: repo.registry, repository: repo.repository };
  }

  /** Streams a blob (or a manifest by descriptor), verified as it flows. */
  fetch(desc: Descriptor, opts?: FetchOptions): Promise<Readable> {
    if (isManifestMediaType(desc.mediaType)) return this.#fetchManifestStream(desc, opts);
    return fetchBlob(this.#repo, desc, opts);
  }

  async #fetchManifestStream(desc: Descriptor, opts?: FetchOptions): Promise<Readable> {
    const { bytes } = await fetchManifest(this.#repo, desc, opts);
    opts?.onProgress?.(bytes.length);
    return Readable.from([bytes]);
  }

  /** HEAD on the blob (or manifest, by media type); false on 404. */
  async exists(desc: Descriptor, opts?: OpOptions): Promise<boolean> {
    if (isManifestMediaType(desc.mediaType)) {
      try {
        await resolveManifest(this.#repo, desc.digest, opts);
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_NOT_FOUND') return false;
        throw err;
      }
    }
    return blobExists(this.#repo, desc.digest, opts);
  }

  /** Uploads a blob; manifests (by media type) are PUT by digest. */
  async push(desc: Descriptor, body: Readable | Uint8Array, opts?: PushOptions): Promise<void> {
    if (isManifestMediaType(desc.mediaType)) {
      const bytes = body instanceof Uint8Array ? body : await collect(body);
      await pushManifest(this.#repo, desc, bytes, undefined, opts);
      return;
    }
    await pushBlob(this.#repo, desc, body, opts);
  }

  resolve(reference: string, opts?: OpOptions): Promise<Descriptor> {
    return resolveManifest(this.#repo, reference, opts);
  }

  /** Same as resolve: the cheap HEAD probe. */
  headManifest(reference: string, opts?: OpOptions): Promise<Descriptor> {
    return resolveManifest(this.#repo, reference, opts);
  }

  tag(desc: Descriptor, reference: string, opts?: OpOptions): Promise<void> {
    return tagManifest(this.#repo, desc, reference, opts);
  }

  fetchManifest(reference: string | Descriptor, opts?: OpOptions): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    return fetchManifest(this.#repo, reference, opts);
  }

  pushManifest(desc: Descriptor, bytes: Uint8Array, reference?: string, opts?: OpOptions): Promise<void> {
    return pushManifest(this.#repo, desc, bytes, reference, opts);
  }

  listTags(opts?: OpOptions): Promise<string[]> {
    return listTags(this.#repo, opts);
  }

  /**
   * Mounts `desc` from another repository of this registry. On 202 (the registry opened an upload
   * instead) the session is cancelled and false returned; use `mountOrUpload` to continue it.
   */
  async mount(desc: Descriptor, fromRepository: string, opts?: OpOptions): Promise<boolean> {
    const result = await mountBlob(this.#repo, desc, fromRepository, opts);
    if (result.mounted) return true;
    await cancelUpload(this.#repo, result.session.location, opts);
    return false;
  }

  /** Mounts, or uploads `body()` into the session a 202 answer opened. Returns the mount result. */
  async mountOrUpload(desc: Descriptor, fromRepository: string, body: () => Readable | Uint8Array, opts?: PushOptions): Promise<MountResult> {
    const result = await mountBlob(this.#repo, desc, fromRepository, opts);
    if (!result.mounted) await uploadTo(this.#repo, result.session, desc, body(), opts);
    return result;
  }

  deleteManifest(digest: string, opts?: OpOptions): Promise<void> {
    return deleteManifest(this.#repo, digest, opts);
  }

  deleteBlob(digest: string, opts?: OpOptions): Promise<void> {
    return deleteBlob(this.#repo, digest, opts);
  }

  /** Referrers of `digest` (API, or the `sha256-<hex>` tag fallback). */
  referrers(digest: string, artifactType?: string, opts?: OpOptions): Promise<Descriptor[]> {
    return listReferrers(this.#repo, digest, artifactType, opts);
  }
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
