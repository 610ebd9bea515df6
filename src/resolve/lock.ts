import { readFile } from 'node:fs/promises';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { isDigest } from '../oci/descriptor.js';

/**
 * `rulesctl.lock.json` (not a falcoctl file). Format, version 1:
 *
 * ```json
 * { "version": 1,
 *   "entries": [
 *     { "name": "json", "ref": "ghcr.io/falcosecurity/plugins/plugin/json:0.7.3",
 *       "digest": "sha256:…", "type": "plugin", "version": "0.7.3", "platform": "linux/amd64",
 *       "dependencies": [] } ] }
 * ```
 *
 * - `name`: config name (unique); `ref`: the resolved reference the user's input or a dependency
 *   became; `digest`: the ROOT digest (the image index for plugins) to pull by; `version`: the
 *   config version; `platform`: `os/arch` the plugin was selected for (plugins only);
 *   `dependencies`: names of other entries.
 * - Written as 2-space JSON with a trailing newline, entries sorted by name, keys in the order
 *   above, atomically (temp file + rename in the same directory).
 */
export const LOCK_FILE_NAME = 'rulesctl.lock.json';

export type LockArtifactType = 'rulesfile' | 'plugin' | 'asset';

export interface LockEntry {
  name: string;
  ref: string;
  digest: string;
  type: LockArtifactType;
  version: string;
  platform?: string;
  dependencies: string[];
}

export interface LockFile {
  version: 1;
  entries: LockEntry[];
}

const TYPES = new Set(['rulesfile', 'plugin', 'asset']);

function invalid(source: string, what: string): RulesctlError {
  return new RulesctlError(ErrorCodes.INVALID_CONFIG, `invalid lock file "${source}": ${what}`, {
    hint: `fix or delete ${source}; an install without --frozen writes a new one`,
  });
}

function entryOf(raw: unknown, at: string, source: string): LockEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(source, `${at}: expected an object`);
  const o = raw as Record<string, unknown>;
  for (const k of ['name', 'ref', 'digest', 'type', 'version'] as const) {
    if (typeof o[k] !== 'string' || o[k] === '') throw invalid(source, `${at}.${k}: expected a non-empty string`);
  }
  if (!isDigest(o['digest'] as string)) throw invalid(source, `${at}.digest: expected "sha256:<64 hex>"`);
  if (!TYPES.has(o['type'] as string)) throw invalid(source, `${at}.type: must be one of "rulesfile", "plugin", "asset"`);
  if (o['platform'] !== undefined && (typeof o['platform'] !== 'string' || !/^[a-z]+\/[a-z0-9_]+$/.test(o['platform']))) {
    throw invalid(source, `${at}.platform: expected "os/arch"`);
  }
  const deps = o['dependencies'] ?? [];
  if (!Array.isArray(deps) || deps.some((d) => typeof d !== 'string')) throw invalid(source, `${at}.dependencies: expected a list of names`);
  return normalise(o as unknown as LockEntry, deps as string[]);
}

const normalise = (e: LockEntry, deps = e.dependencies): LockEntry => ({
  name: e.name, ref: e.ref, digest: e.digest, type: e.type, version: e.version,
  ...(e.platform === undefined ? {} : { platform: e.platform }),
  dependencies: [...deps],
});

/** Parses and validates lock text; throws ERR_INVALID_CONFIG with the field path. */
export function parseLock(text: string, source = LOCK_FILE_NAME): LockFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalid(source, `not JSON (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null) throw invalid(source, 'expected an object');
  const o = doc as Record<string, unknown>;
  if (o['version'] !== 1) throw invalid(source, `version: expected 1, got ${JSON.stringify(o['version'])}`);
  if (!Array.isArray(o['entries'])) throw invalid(source, 'entries: expected a list');
  const entries = o['entries'].map((e, i) => entryOf(e, `entries[${i}]`, source));
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw invalid(source, `duplicate entry "${e.name}"`);
    seen.add(e.name);
  }
  return { version: 1, entries };
}

/** Canonical lock text (sorted entries, fixed key order, 2-space JSON, trailing newline). */
export function serializeLock(lock: LockFile): string {
  const entries = [...lock.entries].map((e) => normalise(e)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${JSON.stringify({ version: 1, entries }, null, 2)}\n`;
}

/** Reads a lock file; undefined when it does not exist. */
export async function readLock(path: string, opts: { signal?: AbortSignal } = {}): Promise<LockFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', signal: opts.signal });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RulesctlError(ErrorCodes.IO, `cannot read lock file "${path}": ${(err as Error).message}`, { cause: err });
  }
  return parseLock(text, path);
}

/** Writes the lock atomically (temp + rename in the same directory), mode 0644. */
export async function writeLock(path: string, lock: LockFile): Promise<void> {
  await writeFileAtomic(path, serializeLock(lock), { dirMode: 0o755 });
}

export { lockSatisfies, assertLockSatisfies, type LockRequest } from './_lock-check.js';
