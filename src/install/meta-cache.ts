import { lstat, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { nullLogger, type Logger } from '../log.js';
import { digestOf, isDigest, parseDigest } from '../oci/descriptor.js';
import { placeAtomically, type IoOptions } from './staging.js';

/** Largest entry kept: manifests, image indexes and config blobs are far smaller. */
export const MAX_META_BYTES = 4 * 1024 * 1024;

/**
 * Small content-addressed metadata (manifests, indexes, configs) by digest. `get` returns only bytes
 * that hash to the digest asked for, so an entry can never stand for anything but the registry's
 * own answer to a digest; a tag's digest always comes from the registry, never from here.
 */
export interface MetaStore {
  /** The bytes of `digest`, verified; undefined on a miss (absent, unreadable, corrupt, aborted). Never throws. */
  get(digest: string, opts?: IoOptions): Promise<Buffer | undefined>;
  /** Keeps `bytes` under `digest` when they hash to it. Never throws: a cache that cannot write is a miss later. */
  put(digest: string, bytes: Uint8Array, opts?: IoOptions): Promise<void>;
}

/** `<stateDir>/.rulesctl/meta`: rulesctl's own, beside `.rulesctl/installed`. */
export function metaCacheDir(stateDir: string): string {
  return join(stateDir, '.rulesctl', 'meta');
}

/** Bytes hash to `digest` (sha256 or sha512); false for a malformed digest. */
function matches(digest: string, bytes: Uint8Array): boolean {
  return isDigest(digest) && digestOf(bytes, parseDigest(digest).algorithm) === digest;
}

/**
 * The on-disk store: `<dir>/<alg>/<hex>`, dirs 0700, files 0600, each placed by rename from a
 * staging file (src/install/staging.ts). A bad entry is removed when read.
 */
export class MetaCache implements MetaStore {
  constructor(readonly dir: string, private readonly log: Logger = nullLogger) {}

  /** Where `digest` lives, or undefined for a digest this cache does not take (malformed, other algorithm). */
  pathOf(digest: string): string | undefined {
    if (!isDigest(digest)) return undefined;
    const { algorithm, hex } = parseDigest(digest);
    return join(this.dir, algorithm, hex);
  }

  async get(digest: string, opts: IoOptions = {}): Promise<Buffer | undefined> {
    const path = this.pathOf(digest);
    if (path === undefined) return undefined;
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined) return undefined;
    let bytes: Buffer | undefined;
    // Only a regular file within the bound is read (a FIFO would block, a huge file is not ours).
    if (info.isFile() && info.size <= MAX_META_BYTES) bytes = await readFile(path, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined);
    if (opts.signal?.aborted) return undefined; // not the entry's fault: keep it
    if (bytes !== undefined && matches(digest, bytes)) return bytes;
    this.log.debug('Dropping a metadata cache entry that does not match its digest', { digest });
    await rm(path, { force: true }).catch(() => {});
    return undefined;
  }

  async put(digest: string, bytes: Uint8Array, opts: IoOptions = {}): Promise<void> {
    const path = this.pathOf(digest);
    if (path === undefined || bytes.byteLength > MAX_META_BYTES) return;
    if (!matches(digest, bytes)) {
      this.log.debug('Not caching metadata that does not match its digest', { digest });
      return;
    }
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await placeAtomically(path, bytes, 0o600, opts);
    } catch (err) {
      if (opts.signal?.aborted) return;
      this.log.warn('Unable to write the metadata cache', { digest, reason: (err as Error).message });
    }
  }
}

/**
 * Holds puts in memory until `commit()` (served by `get` meanwhile), so an install that fails or
 * is refused leaves nothing in the state directory, as before the cache existed.
 */
export class DeferredMetaStore implements MetaStore {
  private readonly pending = new Map<string, Uint8Array>();

  constructor(private readonly inner: MetaStore) {}

  async get(digest: string, opts?: IoOptions): Promise<Buffer | undefined> {
    const held = this.pending.get(digest);
    return held !== undefined ? Buffer.from(held) : this.inner.get(digest, opts);
  }

  async put(digest: string, bytes: Uint8Array): Promise<void> {
    if (matches(digest, bytes)) this.pending.set(digest, bytes);
  }

  /** Writes every held entry to the inner store (which never throws), then forgets them. */
  async commit(opts?: IoOptions): Promise<void> {
    for (const [digest, bytes] of this.pending) await this.inner.put(digest, bytes, opts);
    this.pending.clear();
  }
}
