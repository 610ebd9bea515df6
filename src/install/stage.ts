import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { discardStaged as discardArchive, extractToStaging, type StagedArchive } from '../artifact/extract.js';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { fileMatches, type InstalledRecord } from './installed-files.js';
import { placeFiles, type PlaceChange } from './place.js';
import type { PlannedArtifact } from './plan.js';

/** One artifact extracted into staging inside its destination directory. */
export interface StagedArtifact {
  artifact: PlannedArtifact;
  archive: StagedArchive;
  /** Every file of the artifact at its target path, with its sha256 and mode. */
  files: InstalledRecord['files'];
  /** Files whose content or mode differs from what is on disk. */
  changes: PlaceChange[];
}

/**
 * Streams each artifact's layer (verified by the Target) through the safe extractor into a
 * staging directory on the destination's filesystem (src/artifact/extract.ts, spec §3), and lists
 * the files that differ from the destination. On any failure every staging directory is removed
 * and nothing was written to a destination.
 */
export async function stageAll(
  artifacts: readonly PlannedArtifact[],
  destOf: (a: PlannedArtifact) => string,
  opts: { signal?: AbortSignal; onPull?: (a: PlannedArtifact) => void },
): Promise<StagedArtifact[]> {
  const staged: StagedArtifact[] = [];
  try {
    for (const a of artifacts) {
      opts.onPull?.(a);
      const { target, layer } = a.inspected;
      const archive = await extractToStaging(() => target.fetch(layer, { signal: opts.signal }), destOf(a), { signal: opts.signal });
      const entry: StagedArtifact = { artifact: a, archive, files: [], changes: [] };
      staged.push(entry);
      for (const f of archive.files) {
        const path = join(archive.destDir, ...f.path.split('/'));
        entry.files.push({ path, digest: f.digest, mode: f.mode, size: f.size });
        if (!(await fileMatches(path, f, opts.signal))) entry.changes.push({ staged: f.stagedPath, target: path, mode: f.mode });
      }
    }
    return staged;
  } catch (err) {
    await discardAll(staged);
    throw err;
  }
}

export async function discardAll(staged: readonly StagedArtifact[]): Promise<void> {
  await Promise.all(staged.map((s) => discardArchive(s.archive)));
}

/**
 * Creates the archives' directories, then renames every changed file over its target in one
 * placement (src/install/place.ts: each target is whole, old or new, at every instant), and
 * removes the staging directories. Unchanged files are never touched.
 */
export async function placeAll(staged: readonly StagedArtifact[], opts: { signal?: AbortSignal }): Promise<void> {
  try {
    for (const s of staged) {
      for (const rel of s.archive.directories) await mkdirChecked(join(s.archive.destDir, ...rel.split('/')));
      for (const c of s.changes) await mkdirChecked(dirname(c.target));
    }
    const changes = staged.flatMap((s) => s.changes);
    if (changes.length > 0) await placeFiles(changes, { signal: opts.signal });
  } finally {
    await discardAll(staged);
  }
}

async function mkdirChecked(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new RulesctlError(ErrorCodes.IO, `cannot create directory "${dir}": ${(err as Error).message}`, { cause: err });
  }
}
