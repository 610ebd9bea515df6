import { readdir } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, RulesctlError } from '../errors.js';

/** A refused archive entry (practice 8): `entry` as written in the archive, `reason` in words. */
export class UnsafeArchiveError extends RulesctlError {
  readonly entry: string;
  readonly reason: string;

  constructor(entry: string, reason: string) {
    super(ErrorCodes.UNSAFE_ARCHIVE, `refusing to extract "${entry}": ${reason}`, {
      hint: 'the artifact is malformed or malicious; nothing was written to the destination',
      details: { entry, reason },
    });
    this.entry = entry;
    this.reason = reason;
  }
}

/** Deepest path accepted (node-tar's `maxDepth` idea; Falco artifacts are one or two levels deep). */
export const MAX_PATH_DEPTH = 64;

/**
 * The entry path as `/`-joined components relative to the destination, `''` for the root itself.
 * Refuses absolute paths (`/x`, `C:x`, `\x`), `..` components, backslashes, NUL bytes and paths deeper
 * than {@link MAX_PATH_DEPTH}.
 */
export function safeRelativePath(entry: string): string {
  if (entry.includes('\0')) throw new UnsafeArchiveError(entry, 'the name contains a NUL byte');
  if (entry.startsWith('/') || /^[a-zA-Z]:/.test(entry) || entry.includes('\\')) {
    throw new UnsafeArchiveError(entry, 'absolute paths (and backslashes) are not allowed');
  }
  const parts = entry.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeArchiveError(entry, '".." path components are not allowed');
  if (parts.length > MAX_PATH_DEPTH) throw new UnsafeArchiveError(entry, `the path is deeper than ${MAX_PATH_DEPTH} levels`);
  return parts.join('/');
}

/** Tracks what the archive already defined, to refuse duplicates and file/directory replacements. */
export class ArchiveTree {
  private readonly kinds = new Map<string, 'file' | 'dir'>();

  add(entry: string, rel: string, kind: 'file' | 'dir'): void {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (this.kinds.get(parent) === 'file') throw new UnsafeArchiveError(entry, `"${parent}" is a file in this archive, not a directory`);
      this.kinds.set(parent, 'dir');
    }
    const existing = this.kinds.get(rel);
    if (existing === kind) throw new UnsafeArchiveError(entry, 'duplicate entry');
    if (existing === 'dir') throw new UnsafeArchiveError(entry, 'a file would replace a directory of this archive');
    if (existing === 'file') throw new UnsafeArchiveError(entry, 'a directory would replace a file of this archive');
    this.kinds.set(rel, kind);
  }
}

/**
 * What already exists in the destination, read one directory listing at a time and cached, so an
 * archive of many entries costs one `readdir` per directory instead of one `lstat` per path component.
 */
export class DestinationView {
  private readonly listings = new Map<string, Promise<Map<string, Dirent>>>();

  constructor(readonly destDir: string) {}

  private async lookup(parts: string[]): Promise<Dirent | undefined> {
    const dir = join(this.destDir, ...parts.slice(0, -1));
    let listing = this.listings.get(dir);
    if (!listing) {
      listing = readdir(dir, { withFileTypes: true }).then(
        (entries) => new Map(entries.map((e) => [e.name, e])),
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return new Map<string, Dirent>();
          throw err;
        },
      );
      this.listings.set(dir, listing);
    }
    return (await listing).get(parts[parts.length - 1]!);
  }

  /**
   * Refuses an entry whose place in the destination goes through or replaces an existing symlink,
   * goes through a non-directory, or would replace a directory with a file (or a file with a directory).
   */
  async check(entry: string, rel: string, kind: 'file' | 'dir'): Promise<void> {
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i++) {
      const found = await this.lookup(parts.slice(0, i + 1));
      if (!found) return;
      const p = join(this.destDir, ...parts.slice(0, i + 1));
      const last = i === parts.length - 1;
      if (found.isSymbolicLink()) throw new UnsafeArchiveError(entry, `it would write through or replace the existing symlink "${p}" in the destination`);
      if (!last && !found.isDirectory()) throw new UnsafeArchiveError(entry, `"${p}" in the destination is not a directory`);
      if (last && kind === 'file' && found.isDirectory()) throw new UnsafeArchiveError(entry, `it would replace the directory "${p}" with a file`);
      if (last && kind === 'dir' && !found.isDirectory()) throw new UnsafeArchiveError(entry, `it would replace the file "${p}" with a directory`);
    }
  }
}
