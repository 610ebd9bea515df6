import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { isAlive } from './process.js';

/** Temp files of this process still being written (our pid may be a dead run's, after a container restart). */
const active = new Set<string>();

export interface AtomicWriteOptions {
  /** Final file mode, applied to the temp file before the rename (default 0644). */
  mode?: number;
  /**
   * Create the parent with this mode when missing; with `tightenDir`, also chmod a looser one,
   * unless it is shared by design (sticky or world-writable, such as /tmp): that is left as it is.
   */
  dirMode?: number;
  tightenDir?: boolean;
  signal?: AbortSignal;
}

/**
 * Writes `data` to `path` by rename from `<dir>/.<name>.<pid>.<random>.tmp` (flag `wx`, final
 * mode, fsync), so readers see the old or the new file, never a torn one (style practice 12).
 * Temp files of the same target left by runs that died (kill -9, OOM) are removed on the way;
 * those of live processes are kept. Errors quote the path only, never the data. The one atomic
 * small-file writer of the code base (credentials, config, index cache, lock); install/follow
 * placement is src/install/place.ts.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const mode = opts.mode ?? 0o644;
  opts.signal?.throwIfAborted();
  const dir = dirname(path);
  await ensureDir(dir, opts);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  active.add(tmp);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data, { signal: opts.signal });
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    if (opts.signal?.aborted) throw new RulesctlError(ErrorCodes.ABORTED, `writing "${path}" was aborted`, { cause: err });
    throw new RulesctlError(ErrorCodes.IO, `unable to write "${path}": ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: err,
      hint: `check that the directory "${dir}" exists and is writable`,
    });
  } finally {
    active.delete(tmp);
    await rm(tmp, { force: true });
    await removeDeadTemps(path);
  }
}

/**
 * Removes `<dir>/.<name>.<pid>.<hex>.tmp` temp files of `path` whose writer no longer runs (best
 * effort: a directory that cannot be read is left alone). A file named with our own pid counts as
 * dead unless this process is writing it (pid reuse across container restarts, as in src/install/staging.ts).
 */
async function removeDeadTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length));
    if (m === null) continue;
    const pid = Number(m[1]);
    const tmp = join(dir, name);
    const dead = pid === process.pid ? !active.has(tmp) : !isAlive(pid);
    if (dead) await rm(tmp, { force: true }).catch(() => {});
  }
}

async function ensureDir(dir: string, opts: AtomicWriteOptions): Promise<void> {
  if (opts.dirMode === undefined) return;
  await mkdir(dir, { recursive: true, mode: opts.dirMode });
  if (!opts.tightenDir) return;
  const st = await stat(dir);
  const shared = (st.mode & 0o1000) !== 0 || (st.mode & 0o002) !== 0;
  if (!shared && (st.mode & 0o777 & ~opts.dirMode) !== 0) await chmod(dir, opts.dirMode);
}
