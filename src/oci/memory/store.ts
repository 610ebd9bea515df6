import { Readable } from 'node:stream';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import { digestOf, isDigest, parseDigest, type Descriptor } from '../descriptor.js';
import { createVerifier } from '../verify.js';
import { isManifestMediaType } from '../media-types.js';
import type { FetchOptions, OpOptions, PushOptions, Target } from '../target.js';

export interface MemoryStoreOptions {
  /** Shown in messages. Default `memory`. */
  name?: string;
  /** Set to make copy() consider cross-repository mounts (see `createMemoryRegistry`). */
  location?: { registry: string; repository: string };
}

/**
 * A `Target` held in memory, for unit tests and dry runs (oras-go content/memory). Pushed bodies are
 * verified against their descriptor before they become visible; manifests are recorded by digest
 * and tags point at descriptors.
 */
export class MemoryStore implements Target {
  readonly name: string;
  readonly location?: { registry: string; repository: string };
  readonly blobs = new Map<string, Buffer>();
  readonly tags = new Map<string, Descriptor>();
  readonly manifests = new Map<string, Descriptor>();
  /** Set by createMemoryRegistry: the sibling repositories a blob can be mounted from. */
  mountSource?: (repository: string) => MemoryStore | undefined;

  constructor(opts: MemoryStoreOptions = {}) {
    this.name = opts.name ?? 'memory';
    if (opts.location) this.location = opts.location;
  }

  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    opts.signal?.throwIfAborted();
    const data = this.blobs.get(desc.digest);
    if (!data) throw this.notFound(desc.digest);
    opts.onProgress?.(data.length);
    return Readable.from([data]).pipe(createVerifier(desc, { source: this.name }));
  }

  async exists(desc: Descriptor, opts: OpOptions = {}): Promise<boolean> {
    opts.signal?.throwIfAborted();
    return this.blobs.get(desc.digest)?.length === desc.size;
  }

  async push(desc: Descriptor, body: Readable | Uint8Array, opts: PushOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    parseDigest(desc.digest);
    const source = body instanceof Uint8Array ? Readable.from([Buffer.from(body)]) : body;
    const verifier = source.pipe(createVerifier(desc, { source: this.name }));
    source.on('error', (err) => verifier.destroy(err));
    const chunks: Buffer[] = [];
    for await (const chunk of verifier as AsyncIterable<Buffer>) {
      opts.signal?.throwIfAborted();
      chunks.push(chunk);
    }
    const data = Buffer.concat(chunks);
    opts.onProgress?.(data.length);
    this.blobs.set(desc.digest, data);
    if (isManifestMediaType(desc.mediaType)) this.manifests.set(desc.digest, { ...desc });
  }

  async resolve(reference: string, opts: OpOptions = {}): Promise<Descriptor> {
    opts.signal?.throwIfAborted();
    const desc = isDigest(reference) ? this.manifests.get(reference) : this.tags.get(reference);
    if (!desc) throw this.notFound(reference);
    return { ...desc };
  }

  async tag(desc: Descriptor, reference: string, opts: OpOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    if (!this.blobs.has(desc.digest)) throw this.notFound(desc.digest);
    if (isDigest(reference)) throw new RulesctlError(ErrorCodes.INVALID_REFERENCE, `cannot tag with a digest "${reference}"`);
    this.tags.set(reference, { ...desc });
  }

  async fetchManifest(reference: string | Descriptor, opts: OpOptions = {}): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const descriptor = typeof reference === 'string' ? await this.resolve(reference, opts) : reference;
    const bytes = this.blobs.get(descriptor.digest);
    if (!bytes) throw this.notFound(descriptor.digest);
    return { descriptor, bytes: Buffer.from(bytes) };
  }

  async pushManifest(desc: Descriptor, bytes: Uint8Array, reference?: string, opts: OpOptions = {}): Promise<void> {
    const actual = digestOf(bytes, parseDigest(desc.digest).algorithm);
    if (actual !== desc.digest || bytes.byteLength !== desc.size) {
      throw new RulesctlError(ErrorCodes.DIGEST_MISMATCH, `manifest bytes (${actual}) do not match ${desc.digest}`, {
        details: { expected: desc.digest, actual },
      });
    }
    await this.push(desc, bytes, opts);
    this.manifests.set(desc.digest, { ...desc });
    if (reference !== undefined && !isDigest(reference)) await this.tag(desc, reference, opts);
  }

  async listTags(opts: OpOptions = {}): Promise<string[]> {
    opts.signal?.throwIfAborted();
    return [...this.tags.keys()].sort();
  }

  async mount(desc: Descriptor, fromRepository: string, opts: OpOptions = {}): Promise<boolean> {
    opts.signal?.throwIfAborted();
    const data = this.mountSource?.(fromRepository)?.blobs.get(desc.digest);
    if (!data || data.length !== desc.size) return false;
    this.blobs.set(desc.digest, data);
    return true;
  }

  private notFound(reference: string): RulesctlError {
    return new RulesctlError(ErrorCodes.NOT_FOUND, `"${reference}": not found in ${this.name}`, { details: { reference } });
  }
}

/**
 * Repositories of one in-memory "registry" whose stores can mount blobs from each other, so copy()
 * mount logic is testable without a network.
 */
export function createMemoryRegistry(host = 'memory.local'): { repository(name: string): MemoryStore } {
  const repos = new Map<string, MemoryStore>();
  const repository = (name: string): MemoryStore => {
    let store = repos.get(name);
    if (!store) {
      store = new MemoryStore({ name: `${host}/${name}`, location: { registry: host, repository: name } });
      store.mountSource = (from) => repos.get(from);
      repos.set(name, store);
    }
    return store;
  };
  return { repository };
}
