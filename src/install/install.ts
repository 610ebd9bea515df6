import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkAllowedType, type ArtifactType } from '../artifact/media-types.js';
import type { TargetPlatform } from '../artifact/resolve-manifest.js';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import type { TargetFactory } from '../oci/targets.js';
import { readLock } from '../resolve/lock.js';
import type { FalcoVersions } from '../resolve/requirements.js';
import type { VerifyBeforeWriteOptions, VerifyBeforeWriteResult } from '../signature/install-hook.js';
import type { TrustedRootSource } from '../signature/trusted-root.js';
import { stillInstalled, writeRecord, type InstalledRecord } from './installed-files.js';
import { recordInstall } from './record.js';
import { planFrozen, planInstall, type Plan, type PlannedArtifact } from './plan.js';
import { assertRequirements, loadFalcoVersions, type FetchVersions } from './requirements-gate.js';
import { DeferredMetaStore, MetaCache, metaCacheDir } from './meta-cache.js';
import { InstallSession, type IndexSource } from './session.js';
import { cleanStaleStaging } from './staging.js';
import { openScratch } from './scratch.js';
import { placeAll, stageAll, type StagedArtifact } from './stage.js';
import { verifyAll } from './verify-all.js';

/** `rulesctl artifact install` as data (spec falcoctl.md §3, §6, §9; issue 5). */
export interface InstallRequest {
  refs: readonly string[];
  rulesfilesDir: string;
  pluginsDir: string;
  assetsDir: string;
  stateDir: string;
  /** Empty allows every type. */
  allowedTypes: readonly ArtifactType[];
  platform: TargetPlatform;
  resolveDeps: boolean;
  noVerify: boolean;
  /** Falco's `/versions` URL or its parsed string values: requirements are checked when given. */
  falcoVersions?: string | FalcoVersions;
  /** `0.57.0` or `57`: requirements on the engine are checked when given. */
  engineVersion?: string;
  /** Written after a successful install (unless frozen); read with `frozen`. */
  lockFile?: string;
  /** Install exactly the lock's digests; fails if the lock cannot serve the request. */
  frozen?: boolean;
  signal?: AbortSignal;
}

export interface InstallDeps {
  targets: TargetFactory;
  /** The merged index (or its loader, called only when a name must be looked up). */
  index?: IndexSource;
  /**
   * The index as available without network (caches, built-in), for signature policies of full
   * references when `index` was not needed. Defaults to `index`.
   */
  localIndex?: IndexSource;
  logger?: Logger;
  fetchVersions?: FetchVersions;
  verify?: (opts: VerifyBeforeWriteOptions) => Promise<VerifyBeforeWriteResult>;
  trustedRoot?: TrustedRootSource;
  now?: () => number;
}

export interface InstalledArtifact {
  name: string;
  /** The resolved reference (tag form), as recorded in the state file. */
  ref: string;
  /** Root digest (the image index for plugins). */
  digest: string;
  type: ArtifactType;
  version: string;
  /** Absolute paths of every file of the artifact. */
  files: string[];
  /** Files actually written by this run. */
  changedFiles: string[];
  signature: 'verified' | 'no-policy' | 'no-verify';
}

export interface InstallResult {
  /** Artifacts with at least one file written. */
  installed: InstalledArtifact[];
  /** Artifacts whose files were all already on disk, equal. */
  unchanged: InstalledArtifact[];
  /** The lock file written or read, if any. */
  lockFile?: string;
  warnings: string[];
}

const PLATFORM_KEY = (p: TargetPlatform) => `${p.os}/${p.architecture}`;

/**
 * Installs `request.refs` and their dependencies. Order of work, so that a refusal leaves every
 * destination untouched: resolve refs (full refs never load the index, falcoctl#264) → read
 * configs → resolve dependencies (highest compatible; or the lock with `frozen`) → check
 * requirements (when Falco versions or an engine version are given) → check allowed types →
 * verify signatures (policy from the index entry of the config name, §14) → stream each layer
 * verified through the safe extractor into the scratch area, refusing paths two artifacts share →
 * rename every changed file into place, all or nothing → state files → lock file. Equal files are
 * never rewritten.
 */
export async function install(request: InstallRequest, deps: InstallDeps): Promise<InstallResult> {
  const log = deps.logger ?? nullLogger;
  const { signal } = request;
  if (request.refs.length === 0) {
    throw new RulesctlError(ErrorCodes.USAGE, 'no artifacts to install, please configure artifacts or pass them as arguments to this command', {
      hint: 'pass refs (rulesctl artifact install falco-rules:3) or set artifact.install.refs',
    });
  }
  if (request.resolveDeps) log.info('Resolving dependencies ...');
  // Manifests and configs by digest; written only once the install succeeded (a refusal writes nothing).
  const meta = new DeferredMetaStore(new MetaCache(metaCacheDir(request.stateDir), log));
  const session = new InstallSession(deps.targets, deps.index, request.platform, signal, meta);
  const plan = await makePlan(session, request);
  for (const w of plan.warnings) log.warn(w);
  log.info('Installing artifacts', { refs: plan.artifacts.map((a) => a.ref) });
  const falco = await loadFalcoVersions({ ...request, ...(deps.fetchVersions ? { fetchVersions: deps.fetchVersions } : {}) });
  if (falco !== undefined) assertRequirements(plan.artifacts, falco);
  for (const a of plan.artifacts) checkAllowedType(a.inspected.layer.mediaType, request.allowedTypes);
  const destOf = (a: PlannedArtifact) => ({ rulesfile: request.rulesfilesDir, plugin: request.pluginsDir, asset: request.assetsDir })[a.inspected.type];
  await assertDestinations(plan.artifacts.map(destOf));
  const signatures = await verifyAll(plan.artifacts, session, request, deps, log);
  const current = await Promise.all(plan.artifacts.map((a) => stillInstalled(request.stateDir, a.ref, a.inspected.rootDigest, destOf(a), signal)));
  let results: InstalledArtifact[] = [];
  const pending = plan.artifacts.filter((_, i) => current[i] === undefined);
  const scratch = pending.length > 0 ? await openScratch(request.stateDir) : undefined;
  try {
    const installed = plan.artifacts.flatMap((a, i) => (current[i] === undefined ? [] : [{ artifact: a, files: current[i] }]));
    const staged = await stageAll(pending, destOf, {
      signal, scratchDir: scratch?.dir ?? '', installed,
      onPull: (a) => log.info('Pulling layer', { artifact: a.ref, layer: a.inspected.layer.digest.slice(7, 19) }),
    });
    await placeAll(staged, { signal });
    results = resultsOf(plan, staged, current, signatures);
    for (const s of staged) await saveRecord(request.stateDir, { ref: s.artifact.ref, digest: s.artifact.inspected.rootDigest, destDir: s.destDir, files: s.files }, log, signal);
  } finally {
    await scratch?.release();
  }
  await cleanStale(results, request.stateDir);
  const lockFile = await recordInstall(plan, request, { log, now: deps.now, platformKey: PLATFORM_KEY(request.platform) });
  await meta.commit(signal ? { signal } : {});
  for (const r of results) {
    if (r.changedFiles.length > 0) log.info('Artifact successfully installed', { name: r.name, type: r.type, digest: r.digest, directory: destOf(plan.artifacts.find((a) => a.name === r.name)!), files: r.changedFiles });
    else log.info('Artifact already installed, nothing changed', { name: r.name, digest: r.digest });
  }
  return {
    installed: results.filter((r) => r.changedFiles.length > 0),
    unchanged: results.filter((r) => r.changedFiles.length === 0),
    ...(lockFile !== undefined ? { lockFile } : {}),
    warnings: plan.warnings,
  };
}

async function makePlan(session: InstallSession, request: InstallRequest): Promise<Plan> {
  const base = { refs: request.refs, resolveDeps: request.resolveDeps, ...(request.signal ? { signal: request.signal } : {}) };
  if (!request.frozen) return planInstall(session, base);
  if (request.lockFile === undefined) {
    throw new RulesctlError(ErrorCodes.USAGE, '--frozen needs a lock file', { hint: 'pass --lock <file> written by an earlier install' });
  }
  const lock = await readLock(request.lockFile, { signal: request.signal });
  if (lock === undefined) {
    throw new RulesctlError(ErrorCodes.LOCK_MISMATCH, `lock file "${request.lockFile}" does not exist`, {
      hint: 'run the install once without --frozen to write it',
    });
  }
  return planFrozen(session, lock, { ...base, platform: PLATFORM_KEY(request.platform), source: request.lockFile });
}

function resultsOf(plan: Plan, staged: readonly StagedArtifact[], current: ReadonlyArray<string[] | undefined>, signatures: InstalledArtifact['signature'][]): InstalledArtifact[] {
  return plan.artifacts.map((a, i) => {
    const s = staged.find((x) => x.artifact === a);
    return {
      name: a.name, ref: a.ref, digest: a.inspected.rootDigest, type: a.inspected.type, version: a.version,
      files: s ? s.files.map((f) => f.path) : current[i]!, changedFiles: s ? s.changes.map((c) => c.target) : [], signature: signatures[i]!,
    };
  });
}

/** Staging files a killed install or follow left next to our files and state (dead pids only, src/install/staging.ts). */
async function cleanStale(results: readonly InstalledArtifact[], stateDir: string): Promise<void> {
  const dirs = new Set(results.flatMap((r) => r.files.map((f) => dirname(f))));
  dirs.add(join(stateDir, '.falcoctl', 'artifact-state')).add(join(stateDir, '.rulesctl', 'installed'));
  for (const alg of ['sha256', 'sha512']) dirs.add(join(metaCacheDir(stateDir), alg));
  for (const dir of dirs) await cleanStaleStaging(dir);
}

async function saveRecord(stateDir: string, rec: InstalledRecord, log: Logger, signal: AbortSignal | undefined): Promise<void> {
  await writeRecord(stateDir, rec, signal).catch((err: unknown) => log.warn('Unable to save the installed-files record', { ref: rec.ref, reason: (err as Error).message }));
}

async function assertDestinations(dirs: string[]): Promise<void> {
  for (const dir of new Set(dirs)) {
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new RulesctlError(ErrorCodes.IO, `cannot use directory "${dir}" as install destination: ${dir} doesn't exists`, {
        hint: 'create the directory first, or point the matching --*-dir flag elsewhere',
      });
    }
  }
}
