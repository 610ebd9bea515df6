import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, createReadStream, type Dirent } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, readdir, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { isAlive } from '../util/process.js';

/**
 * Atomic file placement shared by `artifact install` and `artifact follow`
 * (registries.md §1.I items 1 and 10, style.md practice 12).
 *
 * Every file reaches its target by `rename(2)` from a staging file created in a hidden subdirectory
 * of the target's own directory (same filesystem), so a reader (Falco's inotify-driven reload,
 * falcoctl.md §11) only ever opens a whole old or a whole new file, even when the process is killed
 * at any instant. Nothing is copied in place.
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
async function ensureStagingDir(dir: string): Promise<void> {
  await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  if (!(await lstat(dir)).isDirectory()) throw new Error(`"${dir}" exists and is not a directory`);
}

/** Removes `<dir>/.rulesctl-staging` if it is empty (best effort: another run may still use it). */
async function dropStagingDir(dir: string): Promise<void> {
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

export interface PlaceChange {
  /** Absolute path of a verified staging file on the target's filesystem (see `writeStaged`). */
  staged: string;
  target: string;
  /** Final mode; already applied by `writeStaged`, re-applied here for callers that staged otherwise. */
  mode: number;
}

export interface PlaceOptions extends IoOptions {
  /**
   * Directory that keeps the previous version of every replaced target, for `rollback`. It must be
   * outside Falco's watched directories (e.g. under the state dir). Without it there is no rollback.
   */
  lastGoodDir?: string;
  /**
   * All or nothing, for this placement only (install; ignored with `lastGoodDir`): each replaced
   * target is copied first into a private per-run directory inside the staging directory of its own
   * directory (`<dir>/.rulesctl-staging/backup-<pid>-<random>/`, same filesystem, so it goes back by
   * rename); when any step fails, every replaced file is put back and every file this placement
   * created is removed. The copies are removed at the end; the result has no rollback.
   */
  allOrNothing?: boolean;
}

export interface PlacedFile {
  target: string;
  /** Where the previous content was kept; undefined when the target did not exist. */
  backup: string | undefined;
}

export interface Placement {
  files: PlacedFile[];
  lastGoodDir: string | undefined;
}

/**
 * Places a set of staged files: for each file, keeps a copy of the current target in `lastGoodDir`
 * (a separate inode, so the swap is a plain rename-over for Falco; or, with `allOrNothing`, in a
 * private per-run directory), then renames the staged file over the target and fsyncs the
 * directory. A crash at any point leaves every target whole, old or new.
 *
 * The signal is checked only before the first rename: once files move, the set is completed.
 * On a failed step it throws ERR_IO (EXDEV with a hint) after removing the unplaced staging files
 * and, with `lastGoodDir` or `allOrNothing`, putting back the files it had already replaced and
 * removing those it created (when that fails too, the error says so: `details.restoreFailed`).
 */
export async function placeFiles(changes: PlaceChange[], opts: PlaceOptions = {}): Promise<Placement> {
  opts.signal?.throwIfAborted();
  for (const c of changes) activeStaging.add(c.staged);
  const dirs = [...new Set(changes.map((c) => dirname(c.target)))];
  for (const dir of dirs) await cleanStaleStaging(dir);
  const placement: Placement = { files: [], lastGoodDir: opts.lastGoodDir };
  if (opts.lastGoodDir !== undefined) await resetDir(opts.lastGoodDir);
  const backups = opts.lastGoodDir === undefined && opts.allOrNothing ? new PrivateBackups() : undefined;
  let restoreFailed = false;
  try {
    for (const [i, c] of changes.entries()) {
      try {
        await placeOne(c, placement, backups);
      } catch (err) {
        const failed = await abandon(placement.files, changes.slice(i), placement.lastGoodDir !== undefined || backups !== undefined);
        restoreFailed = failed !== undefined;
        throw failed === undefined ? err : restoreFailure(err, failed, placement.files);
      }
    }
    for (const dir of dirs) await syncDir(dir);
  } finally {
    await backups?.release({ keep: restoreFailed });
    for (const dir of dirs) await dropStagingDir(dir);
  }
  return backups === undefined ? placement : { files: placement.files.map((f) => ({ target: f.target, backup: undefined })), lastGoodDir: undefined };
}

async function placeOne(c: PlaceChange, placement: Placement, backups: PrivateBackups | undefined): Promise<void> {
  const keepIn = placement.lastGoodDir ?? (await backups?.dirFor(dirname(c.target)));
  const backup = keepIn === undefined ? undefined : await keepLastGood(c.target, keepIn);
  await chmod(c.staged, c.mode).catch((err: unknown) => {
    throw ioError(`cannot set the mode of staging file "${c.staged}" for "${c.target}"`, err);
  });
  await renameInto(c.staged, c.target);
  activeStaging.delete(c.staged);
  placement.files.push({ target: c.target, backup });
}

/**
 * After a failed step: drop the unplaced staging files and, with backups, put back what was
 * already placed. Returns the error of that restore, if it failed.
 */
async function abandon(placed: PlacedFile[], unplaced: PlaceChange[], restore: boolean): Promise<unknown> {
  for (const c of unplaced) await discardStaged(c.staged);
  if (!restore || placed.length === 0) return undefined;
  return restoreFiles(placed, {}).then(() => undefined, (err: unknown) => err ?? 'unknown error');
}

function restoreFailure(err: unknown, restoreErr: unknown, placed: PlacedFile[]): RulesctlError {
  const first = ioError('cannot place the files', err);
  const files = placed.map((f) => f.target);
  const copies = [...new Set(placed.flatMap((f) => (f.backup === undefined ? [] : [dirname(f.backup)])))];
  const reason = restoreErr instanceof Error ? restoreErr.message : String(restoreErr);
  return new RulesctlError(first.code, `${first.message}; putting back the files already replaced failed too: ${reason}`, {
    cause: err,
    hint: `check ${files.map((f) => `"${f}"`).join(', ')}: they may hold the new version${copies.length > 0 ? `; the previous copies are in ${copies.map((d) => `"${d}"`).join(', ')}` : ''}`,
    details: { restoreFailed: true, files },
  });
}

/** The private per-run backup directories of an `allOrNothing` placement, one per target directory. */
class PrivateBackups {
  private readonly dirs = new Map<string, string>();

  async dirFor(targetDir: string): Promise<string> {
    let dir = this.dirs.get(targetDir);
    if (dir !== undefined) return dir;
    dir = join(targetDir, STAGING_DIR, `backup-${process.pid}-${randomBytes(6).toString('hex')}`);
    activeStaging.add(dir);
    this.dirs.set(targetDir, dir);
    try {
      await ensureStagingDir(dirname(dir));
      await mkdir(dir, { mode: 0o700 });
    } catch (err) {
      throw ioError(`cannot create a backup directory in "${targetDir}"`, err);
    }
    return dir;
  }

  /** Removes the copies (`keep`: leaves them for the next run's `cleanStaleStaging`). */
  async release(opts: { keep: boolean }): Promise<void> {
    for (const dir of this.dirs.values()) {
      activeStaging.delete(dir);
      if (!opts.keep) await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }
}

async function resetDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Name in the last-good dir: unique per target path, readable for humans. */
function backupName(target: string): string {
  return `${createHash('sha256').update(target).digest('hex').slice(0, 16)}-${basename(target)}`;
}

/**
 * Copies `target` into `lastGoodDir` (a reflink where the filesystem offers one). Never a hard
 * link: Falco watches each listed rules file with IN_CLOSE_WRITE|IN_MOVE_SELF|IN_DELETE_SELF
 * (falcoctl.md §11 "Falco reload"), and the rename over the target fires IN_DELETE_SELF only when
 * the old inode loses its last link; a link kept here would hide the swap from Falco.
 */
async function keepLastGood(target: string, lastGoodDir: string): Promise<string | undefined> {
  const backup = join(lastGoodDir, backupName(target));
  try {
    await copyFile(target, backup, fsConstants.COPYFILE_FICLONE | fsConstants.COPYFILE_EXCL);
    return backup;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(`cannot keep a last-good copy of "${target}"`, err);
  }
}

/**
 * Restores the last-good set of `placement`, newest first: each backup goes back by rename (staged
 * next to the target first when the backup lives on another filesystem); targets that did not
 * exist before are removed. Throws ERR_IO if the placement was made without `lastGoodDir`.
 */
export async function rollback(placement: Placement, opts: IoOptions = {}): Promise<void> {
  if (placement.lastGoodDir === undefined) {
    throw new RulesctlError(ErrorCodes.IO, 'cannot roll back: no last-good directory was kept', {
      hint: 'pass lastGoodDir to placeFiles',
    });
  }
  await restoreFiles(placement.files, opts);
}

async function restoreFiles(files: readonly PlacedFile[], opts: IoOptions): Promise<void> {
  for (const f of [...files].reverse()) {
    if (f.backup === undefined) {
      await rm(f.target, { force: true });
    } else {
      await restoreBackup(f.backup, f.target, opts);
    }
  }
  for (const dir of new Set(files.map((f) => dirname(f.target)))) await syncDir(dir);
}

async function restoreBackup(backup: string, target: string, opts: IoOptions): Promise<void> {
  try {
    await rename(backup, target);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw ioError(`cannot restore "${target}"`, err);
  }
  const { mode } = await stat(backup);
  const staged = await writeStaged(target, createReadStream(backup), mode & 0o7777, opts);
  try {
    await renameInto(staged, target);
  } finally {
    await discardStaged(staged);
  }
  await rm(backup, { force: true });
}

function ioError(message: string, cause: unknown): RulesctlError {
  if (cause instanceof Error && cause.name === 'RulesctlError') return cause as RulesctlError;
  if (cause instanceof Error && cause.name === 'AbortError') {
    return new RulesctlError(ErrorCodes.ABORTED, `${message}: aborted`, { cause });
  }
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new RulesctlError(ErrorCodes.IO, `${message}: ${reason}`, { cause });
}
