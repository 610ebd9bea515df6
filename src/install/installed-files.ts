import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { placeAtomically } from './staging.js';

/**
 * rulesctl's own record of what an install wrote for one resolved ref (not a falcoctl file; it
 * sits beside falcoctl's state under `<stateDir>/.rulesctl/installed/`): the root digest and every
 * file with its sha256 and mode. A later install of the same digest whose files all still match
 * needs neither the layer nor a staging directory, so it touches nothing in the destinations.
 */
export interface InstalledRecord {
  ref: string;
  digest: string;
  /** The destination directory the files were installed into. */
  destDir: string;
  files: Array<{ path: string; digest: string; mode: number; size: number }>;
}

/** `<stateDir>/.rulesctl/installed/<hex sha256(ref)>.json`. */
export function recordPath(stateDir: string, ref: string): string {
  return join(stateDir, '.rulesctl', 'installed', `${createHash('sha256').update(ref).digest('hex')}.json`);
}

/** sha256 of a file, streamed in 1 MiB reads (each read is a thread-pool round trip). */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { signal, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** True when `path` is a regular file with this size, mode and sha256. */
export async function fileMatches(path: string, f: { size: number; mode: number; digest: string }, signal?: AbortSignal): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined || !info.isFile()) return false;
  if (info.size !== f.size || (info.mode & 0o777) !== f.mode) return false;
  return (await sha256File(path, signal)) === f.digest;
}

/** The record of `ref`, or undefined when missing, unreadable or for another ref. */
export async function readRecord(stateDir: string, ref: string, signal?: AbortSignal): Promise<InstalledRecord | undefined> {
  try {
    const doc = JSON.parse(await readFile(recordPath(stateDir, ref), { encoding: 'utf8', signal })) as InstalledRecord;
    return doc.ref === ref && typeof doc.digest === 'string' && Array.isArray(doc.files) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The files of `ref` at `digest` in `destDir` when the record says they were installed and every one still
 * matches on disk; undefined otherwise (the artifact is then pulled and compared file by file).
 */
export async function stillInstalled(stateDir: string, ref: string, digest: string, destDir: string, signal?: AbortSignal): Promise<string[] | undefined> {
  const rec = await readRecord(stateDir, ref, signal);
  if (rec === undefined || rec.digest !== digest || rec.destDir !== destDir || rec.files.length === 0) return undefined;
  for (const f of rec.files) if (!(await fileMatches(f.path, f, signal))) return undefined;
  return rec.files.map((f) => f.path);
}

/** Writes the record atomically (0600, dirs 0700), unless the same record is already there. */
export async function writeRecord(stateDir: string, rec: InstalledRecord, signal?: AbortSignal): Promise<void> {
  const path = recordPath(stateDir, rec.ref);
  const text = `${JSON.stringify(rec)}\n`;
  if ((await readFile(path, 'utf8').catch(() => undefined)) === text) return;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await placeAtomically(path, text, 0o600, { ...(signal ? { signal } : {}) });
}
