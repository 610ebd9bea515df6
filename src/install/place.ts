import { createHash } from 'node:crypto';
import { constants as fsConstants, createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCodes, RulesctlError } from '../errors.js';
import {
  backupDirFor, cleanStaleStaging, discardStaged, dropStagingDir, ensureStagingDir, ioError, markInUse, renameInto, syncDir, writeStaged,
  type IoOptions,
} from './staging.js';

/**
 * Atomic file placement shared by `artifact install` and `artifact follow`
 * (registries.md §1.I items 1 and 10, style.md practice 12).
 *
 * Every file reaches its target by `rename(2)` from a staging file created in a hidden subdirectory
 * of the target's own directory (same filesystem, src/install/staging.ts), so a reader (Falco's
 * inotify-driven reload, falcoctl.md §11) only ever opens a whole old or a whole new file, even
 * when the process is killed at any instant. Nothing is copied in place.
 */
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
  for (const c of changes) markInUse(c.staged, true);
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
  markInUse(c.staged, false);
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
    dir = backupDirFor(targetDir);
    markInUse(dir, true);
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
      markInUse(dir, false);
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
