import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../errors.js';
import { fetchIndexText, type FetchIndexOptions, type IndexSource } from './backends.js';
import { loadBuiltinIndex } from './builtin.js';
import { readIndex, type IndexEntry } from './index-file.js';

/** Indexes combined in configuration order (spec §7.4). */
export interface MergedIndex {
  /** Entries in first-seen position; a later same-name entry replaced the earlier one in place. */
  readonly entries: readonly IndexEntry[];
  /** Entry by name. */
  readonly byName: ReadonlyMap<string, IndexEntry>;
  /** Name of the index each entry came from. */
  readonly sourceOf: ReadonlyMap<string, string>;
}

/** Merges named entry lists as falcoctl's `MergedIndexes.Merge` (upsert in order). */
export function mergeIndexes(indexes: ReadonlyArray<{ name: string; entries: readonly IndexEntry[] }>): MergedIndex {
  const position = new Map<string, number>();
  const entries: IndexEntry[] = [];
  const sourceOf = new Map<string, string>();
  for (const index of indexes) {
    for (const e of index.entries) {
      const at = position.get(e.name);
      if (at === undefined) {
        position.set(e.name, entries.length);
        entries.push(e);
      } else entries[at] = e;
      sourceOf.set(e.name, index.name);
    }
  }
  return { entries, byName: new Map(entries.map((e) => [e.name, e])), sourceOf };
}

/**
 * The signature policy for what the user typed, as falcoctl's `SignatureForIndexRef` (spec §14):
 * undefined for full refs (containing `/`) and unknown names; otherwise the entry's `signature`,
 * looked up by the name before any `:tag` / `@digest`. Install looks up by config name instead.
 */
export function signatureForIndexRef(index: MergedIndex, input: string): IndexEntry['signature'] {
  if (input.includes('/')) return undefined;
  return index.byName.get(input.split(/[:@]/)[0]!)?.signature;
}

export interface LoadMergedIndexOptions {
  /** Cache base dir; `indexes/<name>.yaml` under it is used when present. */
  cacheDir?: string;
  fetch?: Omit<FetchIndexOptions, 'signal' | 'validators'>;
  /** Entries used when no index is configured; defaults to the shipped index/index.yaml. */
  builtin?: () => Promise<readonly IndexEntry[]>;
  signal?: AbortSignal;
}

async function loadOne(source: IndexSource, opts: LoadMergedIndexOptions): Promise<readonly IndexEntry[]> {
  if (opts.cacheDir !== undefined) {
    const path = join(opts.cacheDir, 'indexes', `${source.name}.yaml`);
    const text = await readFile(path, { encoding: 'utf8', signal: opts.signal }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new RulesctlError(ErrorCodes.IO, `an error occurred while loading cache from disk: ${err.message}`, { cause: err });
    });
    if (text !== undefined) return readIndex(text, path);
  }
  try {
    const result = await fetchIndexText(source, { ...opts.fetch, signal: opts.signal });
    if (result.notModified) throw new Error('unexpected 304 without validators');
    return readIndex(result.text, source.url);
  } catch (err) {
    const inner = isRulesctlError(err) ? err : undefined;
    throw new RulesctlError(inner?.code ?? ErrorCodes.INDEX_FETCH, `unable to fetch index "${source.name}" with URL "${source.url}": ${(err as Error).message}`, {
      cause: err, hint: inner?.hint ?? 'check the URL and your network, or cache the index with "rulesctl index add"',
    });
  }
}

/**
 * The merged index the `artifact` commands use (spec §8 "Local cache"): configured indexes in
 * order; an existing cache file is used and never refreshed, otherwise the URL is fetched and not
 * saved. Any failure aborts with `unable to fetch index "<n>" with URL "<u>": …`. With no
 * configured index, the built-in index is used (no network) under the name `falcosecurity`.
 */
export async function loadMergedIndex(configured: readonly IndexSource[], opts: LoadMergedIndexOptions = {}): Promise<MergedIndex> {
  if (configured.length === 0) {
    const builtin = opts.builtin ?? (() => loadBuiltinIndex({ signal: opts.signal }));
    return mergeIndexes([{ name: 'falcosecurity', entries: await builtin() }]);
  }
  const loaded = [];
  for (const source of configured) loaded.push({ name: source.name, entries: await loadOne(source, opts) });
  return mergeIndexes(loaded);
}
