import { readFile } from 'node:fs/promises';
import type { IndexSource } from '../index/backends.js';
import { DEFAULT_INDEX, loadBuiltinIndex } from '../index/builtin.js';
import { cachePaths, listIndexes } from '../index/cache.js';
import { readIndex, type IndexEntry } from '../index/index-file.js';
import { loadMergedIndex, mergeIndexes, type MergedIndex } from '../index/merged.js';
import type { Logger } from '../log.js';

export interface IndexChoiceInput {
  /** `indexes` from flag/env/falcoctl.yaml; undefined when none of them sets it. */
  configured: ReadonlyArray<{ name: string; url: string; backend?: string }> | undefined;
  /** `$HOME/.config/falcoctl`. */
  cacheDir: string;
  logger?: Logger;
  signal?: AbortSignal;
  /** Proxy variables for index downloads (src/index/backends.ts `proxyEnv`). */
  proxyEnv?: Record<string, string | undefined>;
}

export interface IndexChoice {
  /** The indexes the `artifact` commands read, in order (empty: the built-in index). */
  sources: IndexSource[];
  /** The merged index; configured indexes without a cache file are fetched (not saved), spec §8. */
  full(): Promise<MergedIndex>;
  /** The same without any network: cache files, the built-in copy of the default index, or nothing. */
  local(): Promise<MergedIndex>;
}

const sourceOf = (s: { name: string; url: string; backend?: string }): IndexSource =>
  ({ name: s.name, url: s.url, ...(s.backend ? { backend: s.backend } : {}) });

/**
 * Which indexes the `artifact` commands use. As falcoctl: the `indexes` setting (env, then
 * falcoctl.yaml). Beyond falcoctl, when neither sets it: the indexes recorded by `index add` in
 * indexes.yaml (so `index add` works without a falcoctl.yaml), and with none of those the
 * built-in index/index.yaml, offline (issue 5).
 */
export async function chooseIndexes(input: IndexChoiceInput): Promise<IndexChoice> {
  let sources: IndexSource[];
  if (input.configured !== undefined) sources = input.configured.map(sourceOf);
  else sources = (await listIndexes({ cacheDir: input.cacheDir, ...(input.signal ? { signal: input.signal } : {}) })).map(sourceOf);
  const allowPlainHttp = sources.some((s) => s.url.startsWith('http://'));
  let full: Promise<MergedIndex> | undefined;
  let local: Promise<MergedIndex> | undefined;
  return {
    sources,
    full: () => (full ??= loadMergedIndex(sources, { cacheDir: input.cacheDir, fetch: { allowPlainHttp, ...(input.proxyEnv ? { proxyEnv: input.proxyEnv } : {}) }, ...(input.signal ? { signal: input.signal } : {}) })),
    local: () => (local ??= loadLocal(sources, input)),
  };
}

async function loadLocal(sources: readonly IndexSource[], input: IndexChoiceInput): Promise<MergedIndex> {
  if (sources.length === 0) return mergeIndexes([{ name: DEFAULT_INDEX.name, entries: await loadBuiltinIndex({ signal: input.signal }) }]);
  const loaded: Array<{ name: string; entries: readonly IndexEntry[] }> = [];
  for (const s of sources) {
    const path = cachePaths(input.cacheDir, s.name).index;
    const text = await readFile(path, { encoding: 'utf8', signal: input.signal }).catch(() => undefined);
    if (text !== undefined) loaded.push({ name: s.name, entries: readIndex(text, path) });
    else if (s.url === DEFAULT_INDEX.url) loaded.push({ name: s.name, entries: await loadBuiltinIndex({ signal: input.signal }) });
    else input.logger?.debug('Index not cached, not fetched for signature policies of full references', { index: s.name, url: s.url });
  }
  return mergeIndexes(loaded);
}
