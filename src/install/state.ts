import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { placeAtomically } from './staging.js';

/**
 * falcoctl's persisted artifact state, shared by `artifact install` (init container) and
 * `artifact follow` (sidecar): falcoctl.md §11 "State file", falcoctl:internal/artifactstate.
 */
export interface ArtifactState {
  ref: string;
  digest: string;
  /** RFC 3339 with up to nanosecond fraction, UTC (Go `time.Time` JSON). */
  updatedAt: string;
}

export interface StateOptions {
  signal?: AbortSignal;
  log?: Logger;
  /** Clock for `updatedAt` (default `Date.now`). */
  now?: () => number;
}

/** `<stateDir>/.falcoctl/artifact-state/<hex sha256(ref)>.json`; `ref` is the resolved reference. */
export function statePath(stateDir: string, ref: string): string {
  const name = `${createHash('sha256').update(ref).digest('hex')}.json`;
  return join(stateDir, '.falcoctl', 'artifact-state', name);
}

/**
 * Reads the state of `ref`. A missing file gives undefined; an unreadable or corrupt one gives a
 * warning and undefined (the artifact is then simply re-checked). An empty digest counts as absent.
 */
export async function readState(stateDir: string, ref: string, opts: StateOptions = {}): Promise<ArtifactState | undefined> {
  const log = opts.log ?? nullLogger;
  const path = statePath(stateDir, ref);
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', signal: opts.signal });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    log.warn('Unable to read persisted artifact state', { ref, file: path, reason: (err as Error).message });
    return undefined;
  }
  const parsed = parseState(text);
  if (parsed === undefined) {
    log.warn('Ignoring corrupt persisted artifact state', { ref, file: path });
    return undefined;
  }
  return parsed.digest === '' ? undefined : parsed;
}

function parseState(text: string): ArtifactState | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return undefined;
    const { ref, digest, updatedAt } = v as Record<string, unknown>;
    if (typeof ref !== 'string' || typeof digest !== 'string') return undefined;
    return { ref, digest, updatedAt: typeof updatedAt === 'string' ? updatedAt : '' };
  } catch {
    return undefined;
  }
}

/**
 * Writes the state of `ref` atomically: directories 0700 (created as needed), file 0600, compact
 * JSON in Go's field order and escaping. Throws ERR_IO.
 */
export async function writeState(stateDir: string, ref: string, digest: string, opts: StateOptions = {}): Promise<ArtifactState> {
  if (stateDir === '' || ref === '' || digest === '') {
    throw new RulesctlError(ErrorCodes.USAGE, 'invalid artifact state write args: empty argument');
  }
  const path = statePath(stateDir, ref);
  await mkdirPrivate(dirname(path));
  const state: ArtifactState = { ref, digest, updatedAt: formatRfc3339Nano((opts.now ?? Date.now)()) };
  await placeAtomically(path, formatState(state), 0o600, { signal: opts.signal });
  return state;
}

/** Compact JSON byte-identical to Go's `json.Marshal(State)`. */
export function formatState(state: ArtifactState): string {
  return `{"ref":${goJsonString(state.ref)},"digest":${goJsonString(state.digest)},"updatedAt":${goJsonString(state.updatedAt)}}`;
}

/** Go `time.RFC3339Nano` in UTC for a millisecond clock: trailing fraction zeros trimmed. */
export function formatRfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.(\d{3})Z$/, (_m, frac: string) => {
    const trimmed = frac.replace(/0+$/, '');
    return trimmed === '' ? 'Z' : `.${trimmed}Z`;
  });
}

/** Go's encoding/json escapes <, >, & and U+2028/U+2029 on top of JSON's rules. */
function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** mkdir -p where each directory created here gets exactly 0700 (umask does not apply). */
async function mkdirPrivate(dir: string): Promise<void> {
  const exists = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (exists) return;
  await mkdirPrivate(dirname(dir));
  try {
    await mkdir(dir, { mode: 0o700 });
    await chmod(dir, 0o700);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new RulesctlError(ErrorCodes.IO, `cannot create state directory "${dir}": ${(err as Error).message}`, { cause: err });
    }
  }
}
