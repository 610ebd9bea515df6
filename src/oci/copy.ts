import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ErrorCodes, RulesctlError } from '../errors.js';
import type { Descriptor, ImageIndex, ImageManifest, Platform } from './descriptor.js';
import { isIndexMediaType, isManifestMediaType } from './media-types.js';
import type { Target } from './target.js';

export type CopyStatus = 'copied' | 'skipped' | 'mounted';

export interface CopyEvent {
  descriptor: Descriptor;
  kind: 'manifest' | 'blob';
  status: CopyStatus;
}

export interface CopyGraphOptions {
  signal?: AbortSignal;
  /** Blob transfers running at once. Default 3. */
  concurrency?: number;
  /** Called once per node (manifest or blob) when it is copied, skipped or mounted. */
  onBlob?: (event: CopyEvent) => void;
  /** Called as bytes of one node flow: `bytes` so far out of `descriptor.size`. */
  onProgress?: (progress: { descriptor: Descriptor; bytes: number }) => void;
  /** Tags given to the root in the destination (first with pushManifest, others with tag). */
  tags?: string[];
}

export interface CopyOptions extends Omit<CopyGraphOptions, 'tags'> {
  /** Copy only the manifest of this platform (os, architecture, optional variant) and tag it as the root. */
  platform?: Pick<Platform, 'os' | 'architecture' | 'variant'>;
}

/** Counters count every node of the graph (manifests included); `bytes` counts transferred bytes. */
export interface CopyResult {
  descriptor: Descriptor;
  blobsCopied: number;
  blobsSkipped: number;
  blobsMounted: number;
  bytes: number;
}

const CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

/**
 * Copies the artifact `srcRef` names in `src` to `dst` and tags it there with each of `dstRef`
 * (none: stored by digest only). With `platform`, an index root is replaced by its matching
 * manifest (oras-go `Copy` with `WithTargetPlatform`). Errors: ERR_NOT_FOUND, ERR_PLATFORM_NOT_FOUND,
 * and whatever the targets raise (digest/size mismatches included). Model: oras-go copy.go `Copy`;
 * graph per https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md and image-index.md.
 */
export async function copy(src: Target, srcRef: string, dst: Target, dstRef: string | string[], opts: CopyOptions = {}): Promise<CopyResult> {
  const tags = typeof dstRef === 'string' ? [dstRef] : dstRef;
  let root = await src.resolve(srcRef, { signal: opts.signal });
  if (opts.platform) root = await selectPlatform(src, root, opts.platform, opts.signal);
  return copyGraph(src, dst, root, { ...opts, tags });
}

/**
 * Copies the graph under `root` (index → manifests → config + layers) children before parents,
 * skipping what `dst` already has (an existing manifest's subgraph is not visited), mounting blobs
 * across repositories of one registry when `dst.mount` succeeds, and streaming every blob.
 */
export async function copyGraph(src: Target, dst: Target, root: Descriptor, opts: CopyGraphOptions = {}): Promise<CopyResult> {
  const abort = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal;
  const run = new GraphCopy(src, dst, root, { ...opts, signal });
  try {
    await run.node(root);
  } catch (err) {
    abort.abort(err);
    await run.settle();
    throw err;
  }
  return { descriptor: root, ...run.counters };
}

class GraphCopy {
  readonly counters = { blobsCopied: 0, blobsSkipped: 0, blobsMounted: 0, bytes: 0 };
  private readonly seen = new Map<string, Promise<void>>();
  private readonly limit: <T>(fn: () => Promise<T>) => Promise<T>;

  constructor(
    private readonly src: Target,
    private readonly dst: Target,
    private readonly root: Descriptor,
    private readonly opts: CopyGraphOptions & { signal: AbortSignal },
  ) {
    this.limit = limiter(Math.max(1, opts.concurrency ?? 3));
  }

  /** Copies `desc` once per run, whatever number of parents reference it. */
  node(desc: Descriptor): Promise<void> {
    let p = this.seen.get(desc.digest);
    if (!p) {
      p = isManifestMediaType(desc.mediaType) ? this.manifest(desc) : this.limit(() => this.blob(desc));
      this.seen.set(desc.digest, p);
    }
    return p;
  }

  /** Waits for every started node to finish (after an abort) so no transfer outlives copy(). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.seen.values()]);
  }

  private async manifest(desc: Descriptor): Promise<void> {
    const { signal } = this.opts;
    const tags = desc.digest === this.root.digest ? (this.opts.tags ?? []) : [];
    if (await this.dst.exists(desc, { signal })) {
      this.report(desc, 'manifest', 'skipped');
      for (const tag of tags) await this.dst.tag(desc, tag, { signal });
      return;
    }
    const { bytes } = await this.src.fetchManifest(desc, { signal });
    await Promise.all(childrenOf(desc, bytes).map((child) => this.node(child)));
    await this.dst.pushManifest(desc, bytes, tags[0], { signal });
    for (const tag of tags.slice(1)) await this.dst.tag(desc, tag, { signal });
    this.counters.bytes += bytes.byteLength;
    this.opts.onProgress?.({ descriptor: desc, bytes: bytes.byteLength });
    this.report(desc, 'manifest', 'copied');
  }

  private async blob(desc: Descriptor): Promise<void> {
    const { signal } = this.opts;
    if (await this.dst.exists(desc, { signal })) return this.report(desc, 'blob', 'skipped');
    if (await this.tryMount(desc)) return this.report(desc, 'blob', 'mounted');
    const body = await this.src.fetch(desc, { signal });
    const counted = body.pipe(this.counter(desc, body));
    try {
      await this.dst.push(desc, counted, { signal });
    } catch (err) {
      counted.destroy();
      body.destroy();
      throw err;
    }
    this.counters.bytes += desc.size;
    this.report(desc, 'blob', 'copied');
  }

  private async tryMount(desc: Descriptor): Promise<boolean> {
    const from = this.src.location;
    const to = this.dst.location;
    if (!from || !to || !this.dst.mount || from.registry !== to.registry || from.repository === to.repository) return false;
    return this.dst.mount(desc, from.repository, { signal: this.opts.signal });
  }

  /** Pass-through that reports progress and forwards the source's errors downstream. */
  private counter(desc: Descriptor, body: Readable): Transform {
    let bytes = 0;
    const onProgress = this.opts.onProgress;
    const t = new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
        bytes += chunk.length;
        onProgress?.({ descriptor: desc, bytes });
        cb(null, chunk);
      },
    });
    body.once('error', (err) => t.destroy(err));
    t.once('close', () => {
      if (!body.destroyed) body.destroy();
    });
    return t;
  }

  private report(descriptor: Descriptor, kind: CopyEvent['kind'], status: CopyStatus): void {
    if (status === 'copied') this.counters.blobsCopied++;
    else if (status === 'skipped') this.counters.blobsSkipped++;
    else this.counters.blobsMounted++;
    this.opts.onBlob?.({ descriptor, kind, status });
  }
}

/** Successors of a manifest (image-spec manifest.md, image-index.md; Docker schema 2 and list). */
export function childrenOf(desc: Descriptor, bytes: Buffer): Descriptor[] {
  const parsed = parseJson(desc, bytes) as Partial<ImageManifest & ImageIndex>;
  if (isIndexMediaType(desc.mediaType)) {
    if (!Array.isArray(parsed.manifests)) throw invalidManifest(desc, 'an index without "manifests"');
    return parsed.manifests;
  }
  if (!parsed.config || !Array.isArray(parsed.layers)) throw invalidManifest(desc, 'a manifest without "config" and "layers"');
  return [parsed.config, ...parsed.layers];
}

/**
 * The descriptor of the manifest for `want` under `root`: the first matching entry of an index,
 * or `root` itself when it is a manifest whose platform (descriptor or image config) matches.
 */
export async function selectPlatform(src: Target, root: Descriptor, want: CopyOptions['platform'] & object, signal?: AbortSignal): Promise<Descriptor> {
  const { bytes } = await src.fetchManifest(root, { signal });
  if (isIndexMediaType(root.mediaType)) {
    const index = parseJson(root, bytes) as Partial<ImageIndex>;
    const found = (index.manifests ?? []).find((d) => d.platform && platformMatches(d.platform, want));
    if (found) return found;
  } else {
    const manifest = parseJson(root, bytes) as Partial<ImageManifest>;
    const config = manifest.config;
    if (config && CONFIG_TYPES.has(config.mediaType)) {
      const { bytes: cfg } = await src.fetchManifest(config, { signal });
      if (platformMatches(parseJson(config, cfg) as Platform, want)) return root;
    }
  }
  throw new RulesctlError(ErrorCodes.PLATFORM_NOT_FOUND, `${src.name}: no manifest for platform ${formatPlatform(want)} in ${root.digest}`, {
    hint: 'list the platforms the artifact provides, or pick another platform',
    details: { digest: root.digest, platform: want },
  });
}

function platformMatches(got: Partial<Platform>, want: NonNullable<CopyOptions['platform']>): boolean {
  if (got.os !== want.os || got.architecture !== want.architecture) return false;
  return !want.variant || got.variant === want.variant;
}

function formatPlatform(p: NonNullable<CopyOptions['platform']>): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function parseJson(desc: Descriptor, bytes: Buffer): unknown {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof v === 'object' && v !== null) return v;
  } catch {
    // reported below
  }
  throw invalidManifest(desc, 'not a JSON object');
}

function invalidManifest(desc: Descriptor, why: string): RulesctlError {
  return new RulesctlError(ErrorCodes.INVALID_MANIFEST, `${desc.mediaType} ${desc.digest}: ${why}`, { details: { digest: desc.digest } });
}

/** Runs at most `n` functions at once (blob transfers; manifests wait on children outside it). */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active < n) active++;
    else await new Promise<void>((resolve) => queue.push(resolve));
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter so a newcomer cannot overtake it.
      const next = queue.shift();
      if (next) next();
      else active--;
    }
  };
}
