import { randomBytes } from 'node:crypto';
import { constants as fsConstants, type Dirent } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { isAlive } from '../util/process.js';

/**
 * Staging files for atomic placement (src/install/place.ts): written in a hidden subdirectory of
 * the target's own directory (same filesystem), renamed onto their target, and the leftovers of
 * killed runs removed. Also the single-file atomic write of the state, lock and cache files.
 */

/**
 * `<dir>/.rulesctl-staging/`: where staging files are written. Falco loads every regular file of a
 * rules directory it lists, hidden or not, whatever the extension, but skips subdirectories
 * (userspace/falco/configuration.cpp read_rules_file_directory), and its watch on the directory does
 * not see inside one; so a staging file there is never loaded half-written. Created 0700 when
 * missing, removed again once empty.
 */
export const STAGING_DIR = '.rulesctl-staging';

/** Staging files of this process that are still in use (pid reuse across container restarts). */
const activeStaging = new Set<string>();
const STAGING_RE = /^\..+\.rulesctl-(\d+)-[0-9a-f]+\.tmp$/;
/** `allOrNothing` backup directories, inside the staging directory only. */
const BACKUP_RE = /^backup-(\d+)-[0-9a-f]+$/;

export interface IoOptions {
  signal?: AbortSignal;
}

/**
 * `<dir>/.rulesctl-staging/.<name>.rulesctl-<pid>-<random>.tmp` (see {@link STAGING_DIR}). The path
 * counts as in use (safe from `cleanStaleStaging`) until placed or `discardStaged`.
 */
export function stagingPathFor(target: string): string {
  const rnd = randomBytes(6).toString('hex');
  const path = join(dirname(target), STAGING_DIR, `.${basename(target)}.rulesctl-${process.pid}-${rnd}.tmp`);
  activeStaging.add(path);
  return path;
}

/**
 * Writes `data` to a new staging file in the staging directory of `target`'s directory (flag `wx`),
 * sets `mode` exactly (umask does not apply), fsyncs and closes it. Returns the staging path; on
 * error nothing is left behind.
 */
export async function writeStaged(
  target: string,
  data: Uint8Array | string | Readable,
  mode: number,
  opts: IoOptions = {},
): Promise<string> {
  opts.signal?.throwIfAborted();
  const staged = stagingPathFor(target);
  try {
    const fh = await openStaging(staged);
    try {
      if (data instanceof Readable) {
        for await (const chunk of data) {
          opts.signal?.throwIfAborted();
          await fh.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
        }
      } else {
        await fh.writeFile(data);
      }
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return staged;
  } catch (err) {
    await discardStaged(staged);
    throw ioError(`cannot write staging file for "${target}"`, err);
  }
}

/**
 * Opens a new staging file (`wx`, 0600), creating its staging directory first. Another run may
 * remove that directory, then empty, between our mkdir and open: ENOENT is tried again.
 */
async function openStaging(staged: string): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    await ensureStagingDir(dirname(staged));
    try {
      return await open(staged, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err;
    }
  }
}

/** mkdir 0700 unless present; a symlink or a file of that name is refused, never followed. */
export async function ensureStagingDir(dir: string): Promise<void> {
  await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  if (!(await lstat(dir)).isDirectory()) throw new Error(`"${dir}" exists and is not a directory`);
}

/** Removes `<dir>/.rulesctl-staging` if it is empty (best effort: another run may still use it). */
export async function dropStagingDir(dir: string): Promise<void> {
  await rmdir(join(dir, STAGING_DIR)).catch(() => {});
}

/** Removes a staging file that will not be placed, and its staging directory once empty (best effort). */
export async function discardStaged(staged: string): Promise<void> {
  activeStaging.delete(staged);
  await rm(staged, { force: true }).catch(() => {});
  if (basename(dirname(staged)) === STAGING_DIR) await dropStagingDir(dirname(dirname(staged)));
}

/**
 * Removes the staging files in `dir` left by processes that no longer run (kill -9, OOM): those in
 * `<dir>/.rulesctl-staging/` (and `allOrNothing` backup directories there), then that directory
 * once empty, and the `.<name>.rulesctl-<pid>-*.tmp` files older versions staged next to their
 * targets. Files of live processes are kept; files named with our own pid but not in use are stale
 * (a restarted container reuses pid 1). Returns the removed paths.
 */
export async function cleanStaleStaging(dir: string): Promise<string[]> {
  const removed = await removeStale(dir, false);
  const staging = join(dir, STAGING_DIR);
  if (await lstat(staging).then((s) => s.isDirectory(), () => false)) {
    removed.push(...(await removeStale(staging, true)));
    await dropStagingDir(dir);
  }
  return removed;
}

async function removeStale(dir: string, inStaging: boolean): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const e of entries) {
    const backup = inStaging && e.isDirectory() ? BACKUP_RE.exec(e.name) : null;
    const m = (e.isFile() ? STAGING_RE.exec(e.name) : null) ?? backup;
    if (m === null) continue;
    const path = join(dir, e.name);
    if (isStale(path, Number(m[1])) && (await rm(path, { recursive: backup !== null }).then(() => true, () => false))) removed.push(path);
  }
  return removed;
}

function isStale(path: string, pid: number): boolean {
  return pid === process.pid ? !activeStaging.has(path) : !isAlive(pid);
}


/** fsync of a directory makes a rename durable; some filesystems refuse it, which is harmless. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsConstants.O_RDONLY).catch(() => undefined);
  if (!fh) return;
  try {
    await fh.sync().catch(() => {});
  } finally {
    await fh.close();
  }
}

/** `rename(2)` that turns EXDEV into an actionable error instead of falling back to a copy. */
export async function renameInto(staged: string, target: string): Promise<void> {
  try {
    await rename(staged, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EXDEV') {
      throw new RulesctlError(
        ErrorCodes.IO,
        `cannot move "${staged}" onto "${target}": they are on different filesystems`,
        {
          hint: 'put the tmp/staging directory on the same filesystem as the target directory (rulesctl never copies over a file Falco may be reading)',
          cause: err,
          details: { staged, target, errno: 'EXDEV' },
        },
      );
    }
    throw ioError(`cannot move "${staged}" onto "${target}"`, err);
  }
}

/**
 * Single-file atomic write (state file, lock file, caches): stage in the staging directory of
 * `target`'s directory, rename, fsync the directory. The parent directory must exist.
 */
export async function placeAtomically(
  target: string,
  data: Uint8Array | string | Readable,
  mode: number,
  opts: IoOptions = {},
): Promise<void> {
  const staged = await writeStaged(target, data, mode, opts);
  try {
    await renameInto(staged, target);
  } finally {
    await discardStaged(staged);
  }
  await syncDir(dirname(target));
}

/** Marks `path` (a staging file or backup directory of this process) in use, or no longer. */
export function markInUse(path: string, inUse: boolean): void {
  if (inUse) activeStaging.add(path);
  else activeStaging.delete(path);
}

/** A new `allOrNothing` backup directory's path in `targetDir`'s staging directory (see {@link cleanStaleStaging}). */
export function backupDirFor(targetDir: string): string {
  return join(targetDir, STAGING_DIR, `backup-${process.pid}-${randomBytes(6).toString('hex')}`);
}

export function ioError(message: string, cause: unknown): RulesctlError {
  if (cause instanceof Error && cause.name === 'RulesctlError') return cause as RulesctlError;
  if (cause instanceof Error && cause.name === 'AbortError') {
    return new RulesctlError(ErrorCodes.ABORTED, `${message}: aborted`, { cause });
  }
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new RulesctlError(ErrorCodes.IO, `${message}: ${reason}`, { cause });
}
