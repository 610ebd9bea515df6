import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { readIndex, type IndexEntry } from './index-file.js';

/** The default index falcoctl configures (spec §8 "Default index"). */
export const DEFAULT_INDEX = {
  name: 'falcosecurity',
  url: 'https://falcosecurity.github.io/falcoctl/index.yaml',
  backend: 'https',
} as const;

/**
 * Path of the shipped `index/index.yaml` (a copy of falcoctl's gh-pages index.yaml at 3d01a057),
 * resolved from this module so it works from `src/` (tests) and `dist/` (package).
 */
export const BUILTIN_INDEX_PATH = fileURLToPath(new URL('../../index/index.yaml', import.meta.url));

/** Reads and validates the built-in index. No network. */
export async function loadBuiltinIndex(opts: { signal?: AbortSignal } = {}): Promise<IndexEntry[]> {
  const text = await readFile(BUILTIN_INDEX_PATH, { encoding: 'utf8', signal: opts.signal });
  return readIndex(text, BUILTIN_INDEX_PATH);
}
