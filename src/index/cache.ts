import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { fetchIndexText, type FetchIndexOptions, type IndexSource, type IndexValidators } from './backends.js';
import { readIndex, serializeIndex } from './index-file.js';
import { formatTimestamp, parseIndexesConfig, serializeIndexesConfig, type IndexConfigEntry } from './indexes-config.js';

export { loadMergedIndex, mergeIndexes, signatureForIndexRef, type MergedIndex, type LoadMergedIndexOptions } from './merged.js';

/** Where falcoctl keeps its index cache: `$HOME/.config/falcoctl/` (no XDG). Spec §8. */
export function defaultCacheDir(home: string): string {
  return join(home, '.config', 'falcoctl');
}

export interface CacheOptions {
  /** The cache base dir (`defaultCacheDir(home)`). */
  cacheDir: string;
  /** Options for the fetch (plain HTTP, injected HttpGet, dispatcher). */
  fetch?: Omit<FetchIndexOptions, 'signal' | 'validators'>;
  /** Clock for the timestamps; defaults to `new Date()`. */
  now?: () => Date;
  signal?: AbortSignal;
}

/** Paths of the cache files under `cacheDir`. */
export const cachePaths = (cacheDir: string, name = '') => ({
  config: join(cacheDir, 'indexes.yaml'),
  index: join(cacheDir, 'indexes', `${name}.yaml`),
  // Not a falcoctl file: HTTP validators for conditional updates; falcoctl ignores it.
  validators: join(cacheDir, 'indexes', `.${name}.validators.json`),
});

async function readOptional(path: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    return await readFile(path, { encoding: 'utf8', signal });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RulesctlError(ErrorCodes.IO, `cannot read "${path}": ${(err as Error).message}`, { cause: err });
  }
}

/** The `configs` of indexes.yaml, in file order (empty when the file is missing). */
export async function listIndexes(opts: Pick<CacheOptions, 'cacheDir' | 'signal'>): Promise<IndexConfigEntry[]> {
  const path = cachePaths(opts.cacheDir).config;
  const text = await readOptional(path, opts.signal);
  return text === undefined ? [] : parseIndexesConfig(text, path);
}

const writeConfig = (cacheDir: string, entries: IndexConfigEntry[]) =>
  writeFileAtomic(cachePaths(cacheDir).config, serializeIndexesConfig(entries), { dirMode: 0o755 });

const wrapFetchError = (source: IndexSource, err: unknown) => {
  const inner = isRulesctlError(err) ? err : undefined;
  return new RulesctlError(inner?.code ?? ErrorCodes.INDEX_FETCH, `unable to fetch index "${source.name}" with URL "${source.url}": ${(err as Error).message}`, {
    cause: err, hint: inner?.hint ?? 'check the URL and your network, or remove the index with "rulesctl index remove"',
  });
};

async function fetchAndStore(source: IndexSource, opts: CacheOptions, validators?: IndexValidators): Promise<boolean> {
  const paths = cachePaths(opts.cacheDir, source.name);
  let result;
  let entries;
  try {
    result = await fetchIndexText(source, { ...opts.fetch, signal: opts.signal, validators });
    entries = result.notModified ? [] : readIndex(result.text, source.url);
  } catch (err) {
    throw wrapFetchError(source, err);
  }
  if (result.notModified) return false;
  await writeFileAtomic(paths.index, serializeIndex(entries), { dirMode: 0o755 });
  if (result.validators.etag !== undefined || result.validators.lastModified !== undefined) {
    await writeFileAtomic(paths.validators, `${JSON.stringify(result.validators)}\n`, { dirMode: 0o755 });
  } else await rm(paths.validators, { force: true });
  return true;
}

/**
 * `index add NAME URL [BACKEND]`: a no-op returning `added: false` when NAME is already in
 * indexes.yaml; otherwise fetches, writes `indexes/<name>.yaml` (sorted) and appends the config
 * entry with both timestamps set. Updating falcoctl.yaml is the caller's job. Spec §8.
 */
export async function addIndex(source: IndexSource, opts: CacheOptions): Promise<{ added: boolean; entry: IndexConfigEntry }> {
  const configs = await listIndexes(opts);
  const existing = configs.find((c) => c.name === source.name);
  if (existing !== undefined) return { added: false, entry: existing };
  await fetchAndStore(source, opts);
  const ts = formatTimestamp((opts.now ?? (() => new Date()))());
  const entry: IndexConfigEntry = { added_timestamp: ts, name: source.name, updated_timestamp: ts, url: source.url, backend: source.backend ?? '' };
  await writeConfig(opts.cacheDir, [...configs, entry]);
  return { added: true, entry };
}

/**
 * `index remove NAME`: a no-op (`removed: false`) when NAME is not in indexes.yaml; fails when its
 * `indexes/<name>.yaml` is already gone, as falcoctl does. Spec §8.
 */
export async function removeIndex(name: string, opts: Pick<CacheOptions, 'cacheDir' | 'signal'>): Promise<{ removed: boolean }> {
  const configs = await listIndexes(opts);
  if (!configs.some((c) => c.name === name)) return { removed: false };
  const paths = cachePaths(opts.cacheDir, name);
  try {
    await rm(paths.index);
  } catch (err) {
    throw new RulesctlError(ErrorCodes.IO, `an error occurred while removing index "${name}" from "${paths.index}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err, hint: `the cached file is gone; remove the "${name}" entry from ${paths.config} by hand`,
    });
  }
  await rm(paths.validators, { force: true });
  await writeConfig(opts.cacheDir, configs.filter((c) => c.name !== name));
  return { removed: true };
}

async function readValidators(path: string, signal?: AbortSignal): Promise<IndexValidators | undefined> {
  const text = await readOptional(path, signal);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as IndexValidators;
  } catch {
    return undefined;
  }
}

/**
 * `index update NAME`: re-fetches (conditionally, with the stored ETag / Last-Modified; a 304 keeps
 * the cached file) and sets `updated_timestamp`. Unknown NAME fails as falcoctl does. Spec §8.
 */
export async function updateIndex(name: string, opts: CacheOptions): Promise<{ entry: IndexConfigEntry; changed: boolean }> {
  const configs = await listIndexes(opts);
  const entry = configs.find((c) => c.name === name);
  if (entry === undefined) {
    throw new RulesctlError(ErrorCodes.NOT_FOUND, `unable to update index ${name}: not found in the cache, please make sure to add it before updating`, {
      hint: `add it first: rulesctl index add ${name} <url>`,
    });
  }
  const paths = cachePaths(opts.cacheDir, name);
  const cached = await readOptional(paths.index, opts.signal);
  const validators = cached === undefined ? undefined : await readValidators(paths.validators, opts.signal);
  const source: IndexSource = { name, url: entry.url, ...(entry.backend === '' ? {} : { backend: entry.backend }) };
  const changed = await fetchAndStore(source, opts, validators);
  const updated = { ...entry, updated_timestamp: formatTimestamp((opts.now ?? (() => new Date()))()) };
  await writeConfig(opts.cacheDir, configs.map((c) => (c.name === name ? updated : c)));
  return { entry: updated, changed };
}
