import { constants as fsc, createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadEntry } from 'tar';
import { gunzip } from './_gunzip.js';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../errors.js';
import { hashingPassThrough } from './_hash-stream.js';
import { stopAtEndOfArchive } from './tar-end.js';
import { ArchiveTree, DestinationView, UnsafeArchiveError, safeRelativePath } from './archive-paths.js';

export { UnsafeArchiveError } from './archive-paths.js';

/** Default budgets of {@link extractToStaging}: 1 GiB of file content, 10,000 entries. */
export const DEFAULT_MAX_BYTES = 1024 ** 3;
export const DEFAULT_MAX_ENTRIES = 10_000;

export interface ExtractOptions {
  /** Total bytes of file content allowed (gzip bombs stop here); default 1 GiB. */
  maxBytes?: number;
  /** Entries allowed; default 10,000. */
  maxEntries?: number;
  signal?: AbortSignal;
}

/** A tar.gz path, a stream, or a function that opens the stream once staging is ready. */
export type ArchiveSource = string | Readable | (() => Promise<Readable>);

export interface StagedFile {
  /** `/`-separated path relative to the destination. */
  path: string;
  /** Where it sits now, inside the staging directory. */
  stagedPath: string;
  mode: number;
  size: number;
  digest: string;
}

export interface StagedArchive {
  /** `<destDir>/.rulesctl-staging-<random>`: same filesystem as the destination. */
  staging: string;
  destDir: string;
  files: StagedFile[];
  /** Directories the archive declares or implies, parents first. */
  directories: string[];
}

/**
 * Extracts a tar.gz (a path, a stream, or a function opening one once staging is ready) into a fresh staging directory inside `destDir`, enforcing
 * practice 13 and falcoctl.md §3 before any byte is written: only regular files and directories (PAX
 * and GNU long names are fine), no absolute paths or `..`, no duplicates, no file/directory
 * replacement inside the archive or against `destDir`, no writing through a symlink in `destDir`, and
 * byte/entry budgets. Files are created with O_EXCL|O_NOFOLLOW, mode 0755 if any exec bit else 0644,
 * narrowed by the process umask as falcoctl's are (its systemd unit relies on `UMask=0077`).
 * On any failure the staging directory is removed and the error thrown: ERR_UNSAFE_ARCHIVE
 * ({@link UnsafeArchiveError}) for refused entries and budgets, ERR_INVALID_ARTIFACT for data that is
 * not a complete tar.gz. Nothing is written outside the staging directory.
 */
export async function extractToStaging(source: ArchiveSource, destDir: string, opts: ExtractOptions = {}): Promise<StagedArchive> {
  await requireDirectory(destDir);
  const staging = await mkdtemp(join(destDir, '.rulesctl-staging-'));
  const result: StagedArchive = { staging, destDir, files: [], directories: [] };
  try {
    await runExtraction(source, result, opts);
    return result;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

async function runExtraction(source: ArchiveSource, result: StagedArchive, opts: ExtractOptions): Promise<void> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const state = {
    entries: 0, bytes: 0, tree: new ArchiveTree(), dest: new DestinationView(result.destDir), made: new Set<string>(),
    failure: undefined as unknown, current: undefined as ReadEntry | undefined,
  };
  const abort = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal;
  let queue = Promise.resolve();
  // Loaded here: installs with nothing to extract (warm runs) do not pay for node-tar's modules.
  const { Parser } = await import('tar');
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry) => {
      queue = queue.then(async () => {
        if (state.failure) return void entry.resume();
        state.current = entry;
        try {
          await handleEntry(entry, result, state, opts);
        } catch (err) {
          state.failure ??= err;
          entry.resume();
          abort.abort(err);
        } finally {
          state.current = undefined;
        }
      });
    },
  });
  const input = typeof source === 'string' ? createReadStream(source) : typeof source === 'function' ? await source() : source;
  // The raw tar stream may carry headers, padding and trailing data: allow 1 MiB on top of content.
  const budget = byteBudget(maxBytes + 1024 * 1024, maxBytes);
  try {
    await pipeline(input, gunzip(), budget, stopAtEndOfArchive(), parser as unknown as Writable, { signal });
    await queue;
  } catch (err) {
    const failure = state.failure ?? classify(err, opts.signal);
    state.failure = failure;
    // The parser is gone (source error, stall, abort): the entry being written will never end on its own.
    state.current?.destroy(failure as Error);
    await queue.catch(() => undefined);
    throw failure;
  }
  if (state.failure) throw state.failure;
}

interface ExtractState {
  entries: number;
  bytes: number;
  tree: ArchiveTree;
  dest: DestinationView;
  /** Staging directories already created. */
  made: Set<string>;
}

async function handleEntry(entry: ReadEntry, result: StagedArchive, state: ExtractState, opts: ExtractOptions): Promise<void> {
  const name = entry.path;
  if (++state.entries > (opts.maxEntries ?? DEFAULT_MAX_ENTRIES)) {
    throw new UnsafeArchiveError(name, `more than ${opts.maxEntries ?? DEFAULT_MAX_ENTRIES} entries (entry budget)`);
  }
  const rel = safeRelativePath(name);
  const kind = entryKind(entry);
  if (rel === '') {
    if (kind !== 'dir') throw new UnsafeArchiveError(name, 'a file entry without a name');
    return void entry.resume();
  }
  state.tree.add(name, rel, kind);
  await state.dest.check(name, rel, kind);
  const staged = join(result.staging, ...rel.split('/'));
  if (kind === 'dir') {
    await mkdir(staged, { recursive: true, mode: 0o755 });
    state.made.add(staged);
    result.directories.push(rel);
    return void entry.resume();
  }
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (state.bytes + entry.size > maxBytes) {
    throw new UnsafeArchiveError(name, `the archive holds more than ${maxBytes} bytes (byte budget)`);
  }
  state.bytes += entry.size;
  if (!state.made.has(dirname(staged))) {
    await mkdir(dirname(staged), { recursive: true, mode: 0o755 });
    state.made.add(dirname(staged));
  }
  const mode = (entry.mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
  const { size, digest } = await writeExclusive(entry, staged, mode);
  if (size !== entry.size) throw new RulesctlError(ErrorCodes.INVALID_ARTIFACT, `truncated archive entry "${name}"`);
  result.files.push({ path: rel, stagedPath: staged, mode, size, digest });
}

function entryKind(entry: ReadEntry): 'file' | 'dir' {
  switch (entry.type) {
    case 'File':
    case 'OldFile':
      return 'file';
    case 'Directory':
      return 'dir';
    case 'SymbolicLink':
      throw new UnsafeArchiveError(entry.path, `symbolic links are not allowed (-> "${entry.linkpath ?? ''}")`);
    case 'Link':
      throw new UnsafeArchiveError(entry.path, `hard links are not allowed (-> "${entry.linkpath ?? ''}")`);
    case 'CharacterDevice':
    case 'BlockDevice':
      throw new UnsafeArchiveError(entry.path, `device entries are not allowed (${entry.type})`);
    case 'FIFO':
      throw new UnsafeArchiveError(entry.path, 'FIFO entries are not allowed');
    default:
      throw new UnsafeArchiveError(entry.path, `entry type "${entry.type}" is not allowed: only files and directories`);
  }
}

async function writeExclusive(entry: ReadEntry, path: string, mode: number): Promise<{ size: number; digest: string }> {
  const fh = await open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, mode);
  const hasher = hashingPassThrough();
  if (entry.size === 0) {
    entry.resume();
    await fh.close();
  } else await pipeline(entry as unknown as Readable, hasher.stream, fh.createWriteStream()); // closes fh
  return { size: hasher.size(), digest: hasher.digest() };
}

/** Counts decompressed bytes and fails once `limit` is passed (gzip bombs, garbage after the end). */
function byteBudget(limit: number, advertised: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      seen += chunk.length;
      if (seen > limit) cb(new UnsafeArchiveError('(archive)', `the archive holds more than ${advertised} bytes (byte budget)`));
      else cb(null, chunk);
    },
  });
}

function classify(err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return new RulesctlError(ErrorCodes.ABORTED, 'extraction aborted', { cause: err });
  if (isRulesctlError(err)) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR' || e.code?.startsWith('TAR_')) {
    return new RulesctlError(ErrorCodes.INVALID_ARTIFACT, `not a valid tar.gz archive: ${e.message}`, { cause: err, hint: 'the layer is corrupt or not a tar.gz' });
  }
  return new RulesctlError(ErrorCodes.IO, `extraction failed: ${e.message}`, { cause: err });
}

async function requireDirectory(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new RulesctlError(ErrorCodes.IO, `cannot use directory "${dir}" as install destination: ${dir} doesn't exists`, {
      hint: 'create the directory first',
    });
  }
}

/**
 * Moves staged files into `destDir` by rename only (never a copy), re-checking each destination path
 * for symlinks and type changes, then removes the staging directory. Returns the placed paths.
 * (Atomic multi-file placement for install/follow lives in src/install/place.ts.)
 */
export async function moveStagedInto(staged: StagedArchive, opts: { signal?: AbortSignal } = {}): Promise<string[]> {
  const placed: string[] = [];
  const dest = new DestinationView(staged.destDir); // read now: the destination may have changed since staging
  try {
    for (const rel of staged.directories) {
      await dest.check(rel, rel, 'dir');
      await mkdir(join(staged.destDir, ...rel.split('/')), { recursive: true, mode: 0o755 });
    }
    for (const f of staged.files) {
      opts.signal?.throwIfAborted();
      await dest.check(f.path, f.path, 'file');
      const target = join(staged.destDir, ...f.path.split('/'));
      await mkdir(dirname(target), { recursive: true, mode: 0o755 });
      await rename(f.stagedPath, target);
      placed.push(target);
    }
  } finally {
    await discardStaged(staged);
  }
  return placed;
}

/** Removes the staging directory and whatever is left in it. */
export async function discardStaged(staged: StagedArchive): Promise<void> {
  await rm(staged.staging, { recursive: true, force: true });
}
