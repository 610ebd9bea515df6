import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IndexSource } from '../index/backends.js';
import { readIndex, type IndexEntry } from '../index/index-file.js';
import { loadMergedIndex, mergeIndexes, signatureForIndexRef, type MergedIndex } from '../index/merged.js';
import { nullLogger, type Logger } from '../log.js';
import { resolveReference, type ResolvedReference } from '../resolve/reference.js';

/**
 * What follow (and registry sync) needs to know about a user's argument: the full reference, and
 * the signature policy (falcoctl.md §7, §14).
 */
export interface FollowTarget {
  input: string;
  resolved: ResolvedReference;
  /** `registry/repository:tag` (or `@digest`). */
  ref: string;
  /** The tag (or digest) polled with HEAD. */
  tagOrDigest: string;
  /** `registry/repository`. */
  repository: string;
  signature: IndexEntry['signature'];
}

export interface ResolveFollowOptions {
  indexes: readonly IndexSource[];
  /** falcoctl's cache base (`~/.config/falcoctl`): `indexes/<name>.yaml`. */
  cacheDir: string;
  listTags?: (repository: string, opts: { signal?: AbortSignal }) => Promise<string[]>;
  log?: Logger;
  signal?: AbortSignal;
  /** Proxy variables for index downloads (src/index/backends.ts `proxyEnv`). */
  proxyEnv?: Record<string, string | undefined>;
}

/**
 * Resolves each argument. Names go through the merged index (loaded once, only when a name is
 * given); the policy is looked up by the argument, as falcoctl's follow does, and, beyond falcoctl,
 * a full ref whose repository an index entry names gets that entry's policy too (from the local
 * index cache only, so a full ref never needs the network for an index). Arguments resolving to
 * the same reference (`falco-rules:3` twice, or a name and its full ref) give one target: the
 * first, with a warning naming both spellings, since two followers would race on the same files.
 */
export async function resolveFollowTargets(inputs: readonly string[], opts: ResolveFollowOptions): Promise<FollowTarget[]> {
  const log = opts.log ?? nullLogger;
  let merged: Promise<MergedIndex> | undefined;
  const index = () => (merged ??= loadMergedIndex(opts.indexes, { cacheDir: opts.cacheDir, ...(opts.proxyEnv ? { fetch: { proxyEnv: opts.proxyEnv } } : {}), ...(opts.signal ? { signal: opts.signal } : {}) }));
  let cached: Promise<MergedIndex> | undefined;
  const cachedIndex = () => (cached ??= loadCachedIndex(opts.indexes, opts.cacheDir));
  const out: FollowTarget[] = [];
  for (const input of inputs) {
    const resolved = await resolveReference(input, { index, ...(opts.listTags ? { listTags: opts.listTags } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    const r = resolved.reference;
    const repository = `${r.registry}/${r.repository}`;
    let signature = resolved.source === 'index' ? signatureForIndexRef(await index(), input) : undefined;
    if (resolved.source === 'full') {
      const entry = (await cachedIndex()).entries.find((e) => e.registry === r.registry && e.repository === r.repository);
      signature = entry?.signature;
      if (signature?.cosign) log.debug('Verifying a full reference with the policy of its index entry', { ref: resolved.ref, entry: entry?.name });
    }
    addUnique(out, { input, resolved, ref: resolved.ref, tagOrDigest: r.digest ?? r.tag ?? 'latest', repository, signature }, log);
  }
  return out;
}

/** Appends `t` unless a target with the same ref is there; a duplicate's policy is kept when the first has none. */
function addUnique(out: FollowTarget[], t: FollowTarget, log: Logger): void {
  const i = out.findIndex((o) => o.ref === t.ref);
  if (i < 0) {
    out.push(t);
    return;
  }
  const first = out[i] as FollowTarget;
  log.warn(`"${first.input}" and "${t.input}" are the same reference ${t.ref}; following it once`, { ref: t.ref, kept: first.input, dropped: t.input });
  if (!first.signature?.cosign && t.signature?.cosign) out[i] = { ...first, signature: t.signature };
}

/** The configured indexes that are in the local cache (missing or unreadable ones are ignored). */
export async function loadCachedIndex(indexes: readonly IndexSource[], cacheDir: string): Promise<MergedIndex> {
  const loaded: { name: string; entries: readonly IndexEntry[] }[] = [];
  for (const source of indexes) {
    const path = join(cacheDir, 'indexes', `${source.name}.yaml`);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      loaded.push({ name: source.name, entries: readIndex(text, path) });
    } catch {
      // A corrupt cache gives no policy here; `index update` reports it.
    }
  }
  return mergeIndexes(loaded);
}
