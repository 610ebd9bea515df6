import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCodes, RulesctlError } from '../errors.js';

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
 * Errors quote the path only, never the data. The one atomic small-file writer of the code base
 * (credentials, config, index cache, lock); install/follow placement is src/install/place.ts.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const mode = opts.mode ?? 0o644;
  opts.signal?.throwIfAborted();
  const dir = dirname(path);
  await ensureDir(dir, opts);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
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
    await rm(tmp, { force: true });
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
