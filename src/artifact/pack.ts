import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Parser } from 'tar';
import { gunzip } from './_gunzip.js';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { hashingPassThrough } from './_hash-stream.js';
import { stopAtEndOfArchive } from './tar-end.js';
import { END_OF_ARCHIVE, padding, ustarHeader } from './tar-header.js';

/** A layer file on disk, with what its descriptor needs. */
export interface LayerFile {
  /** The `.tar.gz` to upload (the user's file, or one written into the work dir). */
  path: string;
  /** `org.opencontainers.image.title`: the base name of the uploaded `.tar.gz`. */
  title: string;
  size: number;
  digest: string;
  /** True when rulesctl built the archive. */
  packed: boolean;
}

export interface PackOptions {
  signal?: AbortSignal;
}

/**
 * Builds the layer for one input path as `registry push` does (falcoctl.md §3): a path that gunzips
 * and reads as tar to the end is used byte for byte; anything else is archived into `workDir` as
 * `<first "."-token of basename>.tar.gz` by {@link packPath}. Never holds the file in memory.
 */
export async function prepareLayer(path: string, workDir: string, opts: PackOptions = {}): Promise<LayerFile> {
  const hasher = hashingPassThrough();
  if (await isTarGz(path, { ...opts, tap: hasher.stream })) {
    // The check read the whole file through the hasher; hash again only if it did not (never seen).
    const info = await statOrThrow(path);
    const { size, digest } = hasher.size() === info.size ? { size: hasher.size(), digest: hasher.digest() } : await hashFile(path, opts);
    return { path, title: basename(path), size, digest, packed: false };
  }
  return packPath(path, workDir, opts);
}

/**
 * True when `path` is a gzip stream holding a tar archive readable to its end (falcoctl IsTarGz).
 * I/O errors other than "not a tar.gz" are thrown as ERR_IO.
 */
export async function isTarGz(path: string, opts: PackOptions & { tap?: Transform } = {}): Promise<boolean> {
  const info = await statOrThrow(path);
  if (!info.isFile() || info.size === 0) return false; // Go's gzip.NewReader fails on empty input
  const parser = new Parser({ strict: true, onReadEntry: (e) => e.resume() });
  try {
    const source = createReadStream(path, { highWaterMark: 1 << 20 });
    const stages = opts.tap ? [source, opts.tap] : [source];
    await pipeline([...stages, gunzip(), stopAtEndOfArchive(), parser as unknown as Writable], { signal: opts.signal });
    return true;
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    return false;
  }
}

/**
 * Archives a file (one USTAR entry named by its base name) or a directory (a header for the directory,
 * then every regular file below it flattened to its base name, in lexical walk order) into
 * `<workDir>/<first "."-token>.tar.gz`, gzip'ed with a header without name or mtime (OS byte 255, as
 * Go writes it). Identical inputs give identical bytes. Returns size and sha256 computed while writing.
 */
export async function packPath(path: string, workDir: string, opts: PackOptions = {}): Promise<LayerFile> {
  const info = await statOrThrow(path);
  const title = `${basename(path).split('.')[0]}.tar.gz`;
  const out = join(workDir, title);
  const entries = info.isDirectory() ? await directoryEntries(path) : [{ path, name: basename(path), size: info.size, mode: info.mode }];
  const header = info.isDirectory() ? ustarHeader({ name: `${basename(path)}/`, size: 0, mode: info.mode & 0o777, typeflag: '5' }) : undefined;
  const hasher = hashingPassThrough();
  // 1 MiB output buffers (src/artifact/_gunzip.ts): the same deflate bytes, 64x fewer thread-pool round trips.
  await pipeline(Readable.from(tarChunks(header, entries)), createGzip({ chunkSize: 1 << 20 }), goGzipHeader(), hasher.stream, createWriteStream(out, { flags: 'wx' }), {
    signal: opts.signal,
  });
  return { path: out, title, size: hasher.size(), digest: hasher.digest(), packed: true };
}

interface FileEntry {
  path: string;
  name: string;
  size: number;
  mode: number;
}

async function* tarChunks(dirHeader: Buffer | undefined, entries: FileEntry[]): AsyncGenerator<Buffer> {
  if (dirHeader) yield dirHeader;
  for (const e of entries) {
    yield ustarHeader({ name: e.name, size: e.size, mode: e.mode & 0o777, typeflag: '0' });
    let written = 0;
    for await (const chunk of createReadStream(e.path, { end: e.size === 0 ? -1 : e.size - 1 })) {
      written += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    if (written !== e.size) {
      throw new RulesctlError(ErrorCodes.IO, `"${e.path}" changed size while it was being archived`);
    }
    yield padding(e.size);
  }
  yield END_OF_ARCHIVE;
}

/** Regular files below `dir`, walked in Go filepath.Walk order (lexical, depth first). */
async function directoryEntries(dir: string): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  const names = (await readdir(dir)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    const p = join(dir, name);
    const info = await lstat(p);
    if (info.isDirectory()) out.push(...(await directoryEntries(p)));
    else if (info.isFile()) out.push({ path: p, name, size: info.size, mode: info.mode });
    else throw new RulesctlError(ErrorCodes.INVALID_ARTIFACT, `cannot archive "${p}": only regular files and directories are supported`);
  }
  return out;
}

/** Sets the gzip header's OS byte to 255 ("unknown"), as Go's compress/gzip writes it. */
function goGzipHeader(): Transform {
  let first = true;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (first && chunk.length >= 10) {
        chunk = Buffer.from(chunk);
        chunk[9] = 0xff;
        first = false;
      }
      cb(null, chunk);
    },
  });
}

/** Size and sha256 digest of a file, streamed. */
export async function hashFile(path: string, opts: PackOptions = {}): Promise<{ size: number; digest: string }> {
  const hasher = hashingPassThrough();
  await pipeline(createReadStream(path), hasher.stream, new Writable({ write: (_c, _e, cb) => cb() }), { signal: opts.signal });
  return { size: hasher.size(), digest: hasher.digest() };
}

async function statOrThrow(path: string): Promise<import('node:fs').Stats> {
  try {
    return await stat(path);
  } catch (err) {
    throw new RulesctlError(ErrorCodes.IO, `cannot read "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}
