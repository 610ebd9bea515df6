import { createReadStream } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { DestinationView, UnsafeArchiveError } from '../artifact/archive-paths.js';
import { discardStaged as discardArchive, extractToStaging, type StagedArchive } from '../artifact/extract.js';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { fileMatches, type InstalledRecord } from './installed-files.js';
import { placeFiles, type PlaceChange } from './place.js';
import { STAGING_DIR, discardStaged, writeStaged } from './staging.js';
import type { PlannedArtifact } from './plan.js';

/** One artifact extracted into the scratch area, compared with its destination. */
export interface StagedArtifact {
  artifact: PlannedArtifact;
  archive: StagedArchive;
  destDir: string;
  /** Every file of the artifact at its target path, with its sha256 and mode. */
  files: InstalledRecord['files'];
  /** Files whose content or mode differs from what is on disk: extracted copy → target. */
  changes: Array<{ extracted: string; target: string; mode: number }>;
}

export interface StageOptions {
  scratchDir: string;
  /** Artifacts of the same install whose files are all in place already (not pulled again). */
  installed?: ReadonlyArray<{ artifact: PlannedArtifact; files: readonly string[] }>;
  signal?: AbortSignal;
  onPull?: (a: PlannedArtifact) => void;
}

/**
 * Streams each artifact's layer (verified by the Target) through the safe extractor
 * (src/artifact/extract.ts, spec §3) into `scratchDir` (src/install/scratch.ts), checks every path
 * against the real destination (no symlink on the way, no file/directory swap) and against the
 * other artifacts of the install, `installed` ones included (no path from two artifacts, no file
 * of one where another has a directory: ERR_PATH_CONFLICT), and lists the files that differ.
 * Nothing is written to a destination here; on any failure every extraction is removed.
 */
export async function stageAll(
  artifacts: readonly PlannedArtifact[],
  destOf: (a: PlannedArtifact) => string,
  opts: StageOptions,
): Promise<StagedArtifact[]> {
  const claims = new Claims();
  for (const { artifact, files } of opts.installed ?? []) {
    for (const file of files) claims.claim(destOf(artifact), relative(destOf(artifact), file).split(sep).join('/'), 'file', artifact.ref);
  }
  const staged: StagedArtifact[] = [];
  if (artifacts.length === 0) return staged;
  const views = new Map<string, DestinationView>();
  try {
    for (const a of artifacts) {
      opts.onPull?.(a);
      const { target, layer } = a.inspected;
      const archive = await extractToStaging(() => target.fetch(layer, { signal: opts.signal }), opts.scratchDir, { signal: opts.signal });
      const destDir = destOf(a);
      const entry: StagedArtifact = { artifact: a, archive, destDir, files: [], changes: [] };
      staged.push(entry);
      const view = views.get(destDir) ?? new DestinationView(destDir);
      views.set(destDir, view);
      for (const rel of archive.directories) {
        await checkPath(view, rel, 'dir');
        claims.claim(destDir, rel, 'dir', a.ref);
      }
      for (const f of archive.files) {
        await checkPath(view, f.path, 'file');
        claims.claim(destDir, f.path, 'file', a.ref);
        const path = join(destDir, ...f.path.split('/'));
        entry.files.push({ path, digest: f.digest, mode: f.mode, size: f.size });
        if (!(await fileMatches(path, f, opts.signal))) entry.changes.push({ extracted: f.stagedPath, target: path, mode: f.mode });
      }
    }
    return staged;
  } catch (err) {
    await discardAll(staged);
    throw err;
  }
}

/**
 * What each artifact of one install puts where, across artifacts and destinations (absolute
 * paths): a path can come from one artifact only, and a file of one artifact cannot sit where
 * another has a directory. Directories may be shared.
 */
class Claims {
  private readonly byPath = new Map<string, { kind: 'file' | 'dir'; ref: string }>();

  claim(destDir: string, rel: string, kind: 'file' | 'dir', ref: string): void {
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const path = join(destDir, ...parts.slice(0, i));
      const want = i === parts.length ? kind : 'dir';
      const had = this.byPath.get(path);
      if (had === undefined) this.byPath.set(path, { kind: want, ref });
      else if (had.ref !== ref && (had.kind === 'file' || want === 'file')) throw clash(path, had, { kind: want, ref });
    }
  }
}

function clash(path: string, a: { kind: 'file' | 'dir'; ref: string }, b: { kind: 'file' | 'dir'; ref: string }): RulesctlError {
  const message = a.kind === b.kind
    ? `artifacts "${a.ref}" and "${b.ref}" both install "${path}"`
    : `artifact "${(a.kind === 'file' ? a : b).ref}" installs the file "${path}" where artifact "${(a.kind === 'dir' ? a : b).ref}" installs a directory`;
  return new RulesctlError(ErrorCodes.PATH_CONFLICT, `cannot install these artifacts together: ${message}`, {
    hint: 'leave one of them out, or install one of them into another directory in a separate run; nothing was written',
    details: { path, artifacts: [a.ref, b.ref] },
  });
}

/** The destination check of one archive path; the staging directory's name is rulesctl's own. */
async function checkPath(view: DestinationView, rel: string, kind: 'file' | 'dir'): Promise<void> {
  if (rel.split('/')[0] === STAGING_DIR) throw new UnsafeArchiveError(rel, `"${STAGING_DIR}" is reserved for rulesctl's staging directory`);
  await view.check(rel, rel, kind);
}

/** Removes the extractions of `staged` (never touches destinations). */
export async function discardAll(staged: readonly StagedArtifact[]): Promise<void> {
  await Promise.all(staged.map((s) => discardArchive(s.archive)));
}

/**
 * Places every changed file (style practice 12, src/install/place.ts): a staging file written
 * and fsynced in the staging directory of its target's directory (`.rulesctl-staging/`, never a
 * file Falco loads), then all renamed over their targets in one placement, so each
 * target is whole, old or new, at every instant. All or nothing: when a step fails, the files
 * already replaced are put back, the files and directories this run created are removed
 * (`allOrNothing` in place.ts). Unchanged files and their directories are never touched. Always
 * removes the extractions.
 */
export async function placeAll(staged: readonly StagedArtifact[], opts: { signal?: AbortSignal }): Promise<void> {
  const ready: PlaceChange[] = [];
  const created: string[] = [];
  try {
    for (const s of staged) {
      if (s.changes.length === 0) continue;
      for (const rel of s.archive.directories) await mkdirChecked(join(s.destDir, ...rel.split('/')), created);
      for (const c of s.changes) {
        await mkdirChecked(dirname(c.target), created);
        const file = await writeStaged(c.target, createReadStream(c.extracted), c.mode, opts);
        ready.push({ staged: file, target: c.target, mode: c.mode });
      }
    }
    if (ready.length > 0) await placeFiles(ready, { ...opts, allOrNothing: true });
  } catch (err) {
    for (const r of ready) await discardStaged(r.staged);
    for (const dir of created.sort((a, b) => b.length - a.length)) await rmdir(dir).catch(() => {});
    throw err;
  } finally {
    await discardAll(staged);
  }
}

/** mkdir -p; adds each directory it created to `created`. */
async function mkdirChecked(dir: string, created: string[]): Promise<void> {
  let first: string | undefined;
  try {
    first = await mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new RulesctlError(ErrorCodes.IO, `cannot create directory "${dir}": ${(err as Error).message}`, { cause: err });
  }
  for (let d = dir; first !== undefined && d.length >= first.length; d = dirname(d)) created.push(d);
}
