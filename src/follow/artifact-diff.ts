import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pullArtifact, type TargetPlatform } from '../artifact/pull.js';
import type { RulesDiff } from '../artifact/rules-diff.js';
import { ErrorCodes, RulesctlError } from '../errors.js';
import type { Target } from '../oci/target.js';
import { diffRuleSets } from './update-checks.js';

/**
 * `artifact diff REF OLD NEW` (issue 6, registries.md §1.I item 7): which rules, macros and lists
 * were added, removed or changed between two versions of one rules artifact, by name. Both
 * versions are pulled (verified) into a temp dir; every YAML file of each is read as one stream.
 */
export interface ArtifactVersionInfo {
  /** The tag or digest given. */
  reference: string;
  digest: string;
  version: string;
  files: string[];
}

export interface ArtifactDiffResult {
  old: ArtifactVersionInfo;
  new: ArtifactVersionInfo;
  rules: RulesDiff['rules'];
  macros: RulesDiff['macros'];
  lists: RulesDiff['lists'];
}

export interface ArtifactDiffOptions {
  platform: TargetPlatform;
  tmpDir: string;
  signal?: AbortSignal;
}

export async function diffArtifactVersions(target: Target, oldRef: string, newRef: string, opts: ArtifactDiffOptions): Promise<ArtifactDiffResult> {
  const work = await mkdtemp(join(opts.tmpDir, 'rulesctl-diff-'));
  try {
    const a = await readVersion(target, oldRef, join(work, 'old'), opts);
    const b = await readVersion(target, newRef, join(work, 'new'), opts);
    const d = diffRuleSets(a.texts, b.texts);
    if (!d) throw new RulesctlError(ErrorCodes.INVALID_RULES, `cannot diff ${oldRef} and ${newRef}: a rules file is not valid YAML`);
    return { old: a.info, new: b.info, ...d };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function readVersion(target: Target, reference: string, dir: string, opts: ArtifactDiffOptions): Promise<{ info: ArtifactVersionInfo; texts: string[] }> {
  await mkdir(dir, { recursive: true });
  const pulled = await pullArtifact(target, reference, { platform: opts.platform, destDir: dir, extract: true, ...(opts.signal ? { signal: opts.signal } : {}) });
  if (pulled.type !== 'rulesfile') {
    throw new RulesctlError(ErrorCodes.USAGE, `${reference} is a ${pulled.type} artifact; diff compares rules files`);
  }
  const files = pulled.files.map((f) => ({ rel: relative(dir, f.path).split(sep).join('/'), path: f.path }))
    .filter((f) => /\.ya?ml$/i.test(f.rel)).sort((x, y) => (x.rel < y.rel ? -1 : x.rel > y.rel ? 1 : 0));
  const texts = await Promise.all(files.map((f) => readFile(f.path, 'utf8')));
  return { info: { reference, digest: pulled.rootDigest, version: pulled.config.version ?? '', files: files.map((f) => f.rel) }, texts };
}
