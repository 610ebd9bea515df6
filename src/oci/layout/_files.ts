import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCodes, RulesctlError } from '../../errors.js';

/** `<dir>/.<name>.<pid>.<random>.tmp`: same directory as the target, so rename is atomic. */
export function tempPathFor(finalPath: string): string {
  const rand = randomBytes(6).toString('hex');
  return join(dirname(finalPath), `.${basename(finalPath)}.${process.pid}.${rand}.tmp`);
}

export interface PlaceOptions {
  signal?: AbortSignal;
  mode?: number;
  onProgress?: (bytes: number) => void;
}

/**
 * Streams `source` through `stages` into a temp file next to `finalPath` (flag `wx`), fsyncs it,
 * then renames it over `finalPath`. On any error (source, verifier, abort) the temp file is removed
 * and `finalPath` is untouched (style practice 12).
 */
export async function placeStream(finalPath: string, source: Readable, stages: Transform[], opts: PlaceOptions = {}): Promise<void> {
  const tmp = tempPathFor(finalPath);
  let out: Writable | undefined;
  try {
    // Opened before streaming so the temp file exists when cleanup runs, whatever fails later.
    const fh = await open(tmp, 'wx', opts.mode ?? 0o644);
    out = fh.createWriteStream({ flush: true, highWaterMark: 1 << 20 });
    const counter = progressCounter(opts.onProgress);
    await pipeline([source, ...stages, ...(counter ? [counter] : []), out], { signal: opts.signal });
    await closed(out);
    await rename(tmp, finalPath);
    await syncDir(dirname(finalPath));
  } catch (err) {
    source.destroy();
    throw wrapIo(err, `writing ${finalPath}`);
  } finally {
    if (out) await closed(out);
    await rm(tmp, { force: true });
  }
}

/** Resolves once the file stream released its descriptor (destroying it if still open). */
function closed(stream: Writable): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    if (!stream.writableFinished) stream.destroy();
  });
}

/** Writes small bytes (index.json) atomically: temp + fsync + rename. */
export async function placeBytes(finalPath: string, bytes: Uint8Array, opts: PlaceOptions = {}): Promise<void> {
  opts.signal?.throwIfAborted();
  const tmp = tempPathFor(finalPath);
  try {
    const fh = await open(tmp, 'wx', opts.mode ?? 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, finalPath);
    await syncDir(dirname(finalPath));
  } catch (err) {
    throw wrapIo(err, `writing ${finalPath}`);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Makes a rename durable; best effort (some file systems refuse to fsync a directory). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // durability hint only; the rename itself already happened
  }
}

function progressCounter(onProgress?: (bytes: number) => void): Transform | undefined {
  if (!onProgress) return undefined;
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      total += chunk.length;
      onProgress(total);
      cb(null, chunk);
    },
  });
}

/** File-system errors (they carry `syscall`) become ERR_IO naming the path; others pass through. */
export function wrapIo(err: unknown, what: string): unknown {
  if (typeof err !== 'object' || err === null || !('syscall' in err)) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new RulesctlError(ErrorCodes.IO, `${what}: ${msg}`, {
    cause: err,
    hint: 'check that the directory exists, is writable and the disk is not full',
  });
}
