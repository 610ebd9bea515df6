import type { Readable } from 'node:stream';
import type { Descriptor } from './descriptor.js';

export interface OpOptions {
  signal?: AbortSignal;
}

export interface FetchOptions extends OpOptions {
  /** Called with the number of bytes received so far (progress bars, metrics). */
  onProgress?: (bytes: number) => void;
}

export interface PushOptions extends OpOptions {
  onProgress?: (bytes: number) => void;
}

/**
 * The storage interface the copy engine, push, pull, install and follow are written against
 * (oras-go content.Storage + Target). Implemented by the registry repository (undici), the OCI
 * image layout store (a directory) and the memory store (tests, dry runs).
 *
 * Contracts:
 * - `fetch` returns a stream whose bytes are verified against `desc.size` and `desc.digest` as they
 *   flow; the stream errors (ERR_DIGEST_MISMATCH / ERR_SIZE_MISMATCH) instead of ending when they
 *   do not match. Callers must never treat data as good before the stream ended without error.
 * - `push` consumes `body` fully and verifies it against `desc` before the content becomes visible.
 * - `resolve` maps a tag or digest (the part after the repository) to the descriptor of a manifest.
 * - `tag` points `reference` (a tag) at an existing manifest `desc`.
 */
export interface Target {
  /** Human-readable name for messages: `127.0.0.1:5000/falco/rules` or `oci:/path/to/layout`. */
  readonly name: string;
  /** Set by registry targets: lets copy() mount blobs across repositories of one registry. */
  readonly location?: { registry: string; repository: string };
  fetch(desc: Descriptor, opts?: FetchOptions): Promise<Readable>;
  exists(desc: Descriptor, opts?: OpOptions): Promise<boolean>;
  push(desc: Descriptor, body: Readable | Uint8Array, opts?: PushOptions): Promise<void>;
  resolve(reference: string, opts?: OpOptions): Promise<Descriptor>;
  tag(desc: Descriptor, reference: string, opts?: OpOptions): Promise<void>;
  /** Manifest bytes by tag or digest, verified when a digest is known. Small: held in memory. */
  fetchManifest(reference: string | Descriptor, opts?: OpOptions): Promise<{ descriptor: Descriptor; bytes: Buffer }>;
  /** Push manifest bytes under a tag or their digest. */
  pushManifest(desc: Descriptor, bytes: Uint8Array, reference?: string, opts?: OpOptions): Promise<void>;
  /** Tags known to the target (registry: all pages). */
  listTags?(opts?: OpOptions): Promise<string[]>;
  /** Cross-repository mount of a blob from `fromRepository` (same registry only). Returns true when mounted. */
  mount?(desc: Descriptor, fromRepository: string, opts?: OpOptions): Promise<boolean>;
}
