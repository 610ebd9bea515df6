import { parseConfig, type ArtifactConfig } from '../artifact/config.js';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../oci/descriptor.js';
import { copyGraph } from '../oci/copy.js';
import { isIndexMediaType } from '../oci/media-types.js';
import type { Target } from '../oci/target.js';
import { legacySignatureTag } from '../signature/media-types.js';

/**
 * `registry sync SRC DST` (issue 6 "A fleet of hosts", registries.md §1.I items 2-3): keeps an
 * in-cluster registry in step with the followed artifacts of an upstream, so a fleet of followers
 * polls the in-cluster registry and upstream load stays one HEAD per artifact per tick.
 *
 * Per artifact and tick: one HEAD of the tag upstream; one HEAD of the tag in DST; when they
 * differ, the whole graph (index, every platform, configs, layers) is copied with the copy engine
 * and tagged in DST, plus the legacy cosign `.sig` tag when upstream has one. Dependencies named in
 * the config are resolved (by the caller's resolver, e.g. through the index) and synced the same way.
 */
export interface SyncArtifact {
  /** `registry/repository` upstream. */
  registry: string;
  repository: string;
  tag: string;
}

export interface SyncDeps {
  source(a: Pick<SyncArtifact, 'registry' | 'repository'>): Promise<Target>;
  /** DST keeps the upstream repository path. */
  destination(a: Pick<SyncArtifact, 'registry' | 'repository'>): Promise<Target>;
  /** `name:version` of a dependency → an upstream artifact; undefined when it cannot be found. */
  resolveDependency?(name: string, version: string, opts: { signal?: AbortSignal }): Promise<SyncArtifact | undefined>;
  log?: Logger;
  signal?: AbortSignal;
}

export type SyncStatus = 'copied' | 'unchanged' | 'failed';

export interface SyncOutcome {
  ref: string;
  status: SyncStatus;
  digest?: string;
  /** Bytes of blobs transferred (copied). */
  bytes?: number;
  dependency: boolean;
  error?: string;
}

/** Dependencies seen per root digest, so unchanged artifacts need no config read. */
export type SyncMemory = Map<string, ArtifactConfig['dependencies']>;

export const refOf = (a: SyncArtifact) => `${a.registry}/${a.repository}:${a.tag}`;

/** One pass over `artifacts` and their dependencies. Never throws for one artifact. */
export async function syncOnce(artifacts: readonly SyncArtifact[], deps: SyncDeps, memory: SyncMemory = new Map()): Promise<SyncOutcome[]> {
  const queue = artifacts.map((a) => ({ a, dependency: false }));
  const done = new Set<string>();
  const out: SyncOutcome[] = [];
  while (queue.length > 0) {
    const { a, dependency } = queue.shift()!;
    const ref = refOf(a);
    if (done.has(ref)) continue;
    done.add(ref);
    deps.signal?.throwIfAborted();
    try {
      const { outcome, dependencies } = await syncArtifact(a, deps, memory);
      out.push({ ...outcome, dependency });
      for (const d of dependencies ?? []) {
        const resolved = await deps.resolveDependency?.(d.name, d.version, { signal: deps.signal });
        if (resolved) queue.push({ a: resolved, dependency: true });
        else (deps.log ?? nullLogger).warn('Cannot resolve a dependency, not syncing it', { ref, dependency: `${d.name}:${d.version}` });
      }
    } catch (err) {
      if (deps.signal?.aborted) throw err;
      (deps.log ?? nullLogger).error('Unable to sync artifact', { ref, reason: (err as Error).message });
      out.push({ ref, status: 'failed', dependency, error: (err as Error).message });
    }
  }
  return out;
}

async function syncArtifact(a: SyncArtifact, deps: SyncDeps, memory: SyncMemory): Promise<{ outcome: Omit<SyncOutcome, 'dependency'>; dependencies: ArtifactConfig['dependencies'] }> {
  const log = deps.log ?? nullLogger;
  const opts = deps.signal ? { signal: deps.signal } : {};
  const ref = refOf(a);
  const src = await deps.source(a);
  const dst = await deps.destination(a);
  const upstream = await src.resolve(a.tag, opts);
  const current = await dst.resolve(a.tag, opts).catch((err: unknown) => {
    if (isRulesctlError(err, ErrorCodes.NOT_FOUND)) return undefined;
    throw err;
  });
  if (current?.digest === upstream.digest) {
    log.debug('Already in sync', { ref, digest: upstream.digest });
    return { outcome: { ref, status: 'unchanged', digest: upstream.digest }, dependencies: await dependenciesOf(dst, upstream, memory, opts) };
  }
  log.info('Copying new artifact version', { ref, digest: upstream.digest, previous: current?.digest ?? '' });
  const copied = await copyGraph(src, dst, upstream, { ...opts, tags: [a.tag] });
  await copySignatureTag(src, dst, upstream.digest, opts, log, ref);
  log.info('Artifact synced', { ref, digest: upstream.digest, bytes: copied.bytes });
  return { outcome: { ref, status: 'copied', digest: upstream.digest, bytes: copied.bytes }, dependencies: await dependenciesOf(dst, upstream, memory, opts) };
}

/** The legacy cosign signature tag (`sha256-<hex>.sig`) follows its artifact when upstream has it. */
async function copySignatureTag(src: Target, dst: Target, digest: string, opts: { signal?: AbortSignal }, log: Logger, ref: string): Promise<void> {
  const tag = legacySignatureTag(digest);
  const sig = await src.resolve(tag, opts).catch(() => undefined);
  if (!sig) return;
  await copyGraph(src, dst, sig, { ...opts, tags: [tag] });
  log.info('Signature synced', { ref, tag });
}

/** Config dependencies of `root` (first manifest of an index), read from DST once per digest. */
async function dependenciesOf(dst: Target, root: Descriptor, memory: SyncMemory, opts: { signal?: AbortSignal }): Promise<ArtifactConfig['dependencies']> {
  if (memory.has(root.digest)) return memory.get(root.digest);
  let { bytes, descriptor } = await dst.fetchManifest(root, opts);
  let doc = JSON.parse(bytes.toString('utf8')) as ImageManifest | ImageIndex;
  if (isIndexMediaType(descriptor.mediaType) || 'manifests' in doc) {
    const first = (doc as ImageIndex).manifests[0];
    if (!first) throw new RulesctlError(ErrorCodes.INVALID_MANIFEST, `index ${root.digest} lists no manifest`);
    ({ bytes, descriptor } = await dst.fetchManifest(first, opts));
    doc = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  }
  const config = (doc as ImageManifest).config;
  const chunks: Buffer[] = [];
  for await (const c of await dst.fetch(config, opts)) chunks.push(c as Buffer);
  const parsed = parseConfig(Buffer.concat(chunks), root.digest);
  memory.set(root.digest, parsed.dependencies);
  return parsed.dependencies;
}
