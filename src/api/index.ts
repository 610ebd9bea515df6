import { homedir, tmpdir } from 'node:os';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { checkPlatforms } from '../artifact/build.js';
import { publishArtifact, type PublishRequest } from '../artifact/publish.js';
import { pullArtifact, type PullResult } from '../artifact/pull.js';
import type { ArtifactType } from '../artifact/media-types.js';
import type { TargetPlatform } from '../artifact/resolve-manifest.js';
import { floatingTags } from '../artifact/tags.js';
import type { IndexSource } from '../index/backends.js';
import { loadBuiltinIndex } from '../index/builtin.js';
import { defaultCacheDir } from '../index/cache.js';
import { loadMergedIndex, mergeIndexes, type MergedIndex } from '../index/merged.js';
import { install as runInstall, type InstallRequest, type InstallResult } from '../install/install.js';
import { planInstall, type PlannedArtifact } from '../install/plan.js';
import { InstallSession } from '../install/session.js';
import { hostPlatform } from '../oci/platform.js';
import { parseReference } from '../oci/reference.js';
import { followArtifacts } from '../follow/run.js';
import { createSchedule, type StartupBehavior } from '../follow/schedule.js';
import { nullLogger } from '../log.js';
import { defaultTrustedRoot } from '../signature/default-root.js';
import { openAccess, type ClientOptions } from './client.js';

export type { ClientOptions } from './client.js';

/** Which indexes short names resolve through: configured sources, or (default) the built-in index, offline. */
export interface IndexOptions {
  indexes?: IndexSource[];
  /** falcoctl's index cache; default `$HOME/.config/falcoctl`. */
  cacheDir?: string;
}

function indexLoader(opts: IndexOptions & ClientOptions): () => Promise<MergedIndex> {
  return async () => {
    if (!opts.indexes || opts.indexes.length === 0) {
      return mergeIndexes([{ name: 'falcosecurity', entries: await loadBuiltinIndex(opts.signal ? { signal: opts.signal } : {}) }]);
    }
    const cacheDir = opts.cacheDir ?? defaultCacheDir(opts.home ?? (opts.env ?? process.env).HOME ?? '');
    return loadMergedIndex(opts.indexes, { cacheDir, ...(opts.signal ? { signal: opts.signal } : {}) });
  };
}

export interface PushOptions extends ClientOptions, Omit<PublishRequest, 'files' | 'reference' | 'repository' | 'name'> {
  /** Default: the last component of the repository. */
  name?: string;
  /** One per file, for plugins (`linux/amd64`). */
  platforms?: string[];
  /** Append `<version>`, `<major>`, `<major>.<minor>` to the tags, as falcoctl's --add-floating-tags. */
  addFloatingTags?: boolean;
}

/**
 * Pushes files as a Falco artifact, as `rulesctl registry push` does (falcoctl-compatible
 * manifests, config and tags; rules validated first). Returns the root digest and tags.
 */
export async function push(reference: string, files: string[], opts: PushOptions): Promise<{ reference: string; digest: string; tags: string[] }> {
  const ref = parseReference(reference);
  // As the CLI (and falcoctl): one os/arch per plugin file, checked before anything is pushed.
  checkPlatforms(opts.type, files.length, opts.platforms ?? []);
  const access = openAccess(opts);
  const tagOrDigest = ref.digest ?? ref.tag;
  const request: PublishRequest = {
    ...opts,
    name: opts.name ?? ref.repository.split('/').pop()!,
    files: files.map((f, i) => ({ path: isAbsolute(f) ? f : resolvePath(f), ...(opts.platforms?.[i] ? { platform: opts.platforms[i] } : {}) })),
    tags: [...new Set([...(opts.tags ?? []), ...(opts.addFloatingTags ? floatingTags(opts.version) : [])])],
    repository: `${ref.registry}/${ref.repository}`,
    ...(tagOrDigest ? { reference: tagOrDigest } : {}),
  };
  try {
    const target = await access.targets(ref);
    const result = await publishArtifact(target, request, { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.logger ? { logger: opts.logger } : {}) });
    await result.built.dispose();
    return { reference: `${ref.registry}/${ref.repository}@${result.rootDigest}`, digest: result.rootDigest, tags: result.tags };
  } finally {
    await access.close();
  }
}

export interface PullOptions extends ClientOptions {
  destDir: string;
  /** Default: the host's, in Go names. */
  platform?: TargetPlatform;
  /** Unpack the layer with the safe extractor instead of saving the tarball. */
  extract?: boolean;
  allowedTypes?: ArtifactType[];
}

/** Pulls an artifact into `destDir` as `rulesctl registry pull` does: verified, placed by rename. */
export async function pull(reference: string, opts: PullOptions): Promise<PullResult> {
  const ref = parseReference(reference);
  const access = openAccess(opts);
  try {
    return await pullArtifact(await access.targets(ref), ref.digest ?? ref.tag ?? 'latest', {
      destDir: opts.destDir, platform: opts.platform ?? hostPlatform(),
      ...(opts.extract ? { extract: true } : {}),
      ...(opts.allowedTypes ? { allowedTypes: opts.allowedTypes } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } finally {
    await access.close();
  }
}

export interface InstallOptions extends ClientOptions, IndexOptions, Partial<Omit<InstallRequest, 'refs' | 'signal' | 'platform'>> {
  platform?: TargetPlatform;
}

/**
 * Installs artifacts with their dependencies as `rulesctl artifact install` does: short names
 * through the indexes (built-in by default), highest compatible dependencies, requirement and
 * signature checks before anything is written, every file placed by rename. falcoctl's default
 * directories apply unless given.
 */
export async function install(refs: string[], opts: InstallOptions = {}): Promise<InstallResult> {
  const access = openAccess(opts);
  const index = indexLoader(opts);
  try {
    return await runInstall({
      refs,
      rulesfilesDir: opts.rulesfilesDir ?? '/etc/falco',
      pluginsDir: opts.pluginsDir ?? '/usr/share/falco/plugins',
      assetsDir: opts.assetsDir ?? '/etc/falco/assets',
      stateDir: opts.stateDir ?? '/var/lib/falcoctl',
      allowedTypes: opts.allowedTypes ?? [],
      platform: opts.platform ?? hostPlatform(),
      resolveDeps: opts.resolveDeps ?? true,
      noVerify: opts.noVerify ?? false,
      ...(opts.falcoVersions !== undefined ? { falcoVersions: opts.falcoVersions } : {}),
      ...(opts.engineVersion !== undefined ? { engineVersion: opts.engineVersion } : {}),
      ...(opts.lockFile !== undefined ? { lockFile: opts.lockFile } : {}),
      ...(opts.frozen !== undefined ? { frozen: opts.frozen } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    }, { targets: access.targets, index, trustedRoot: trustedRootOf(opts), ...(opts.logger ? { logger: opts.logger } : {}) });
  } finally {
    await access.close();
  }
}

export interface ResolveOptions extends ClientOptions, IndexOptions {
  platform?: TargetPlatform;
  /** Include dependencies (default true). */
  resolveDeps?: boolean;
}

export interface ResolvedArtifactInfo {
  name: string;
  version: string;
  ref: string;
  digest: string;
  type: ArtifactType;
  requested: boolean;
  dependencies: string[];
}

/**
 * Resolves refs (short names, ranges, full references) and their dependencies exactly as install
 * does, without writing anything. Dependencies come before their dependents.
 */
export async function resolve(refs: string[], opts: ResolveOptions = {}): Promise<ResolvedArtifactInfo[]> {
  const access = openAccess(opts);
  try {
    const session = new InstallSession(access.targets, indexLoader(opts), opts.platform ?? hostPlatform(), opts.signal);
    const plan = await planInstall(session, { refs, resolveDeps: opts.resolveDeps ?? true, ...(opts.signal ? { signal: opts.signal } : {}) });
    for (const w of plan.warnings) opts.logger?.warn(w);
    return plan.artifacts.map((a: PlannedArtifact) => ({
      name: a.name, version: a.version, ref: a.ref, digest: a.inspected.rootDigest, type: a.inspected.type,
      requested: a.requested, dependencies: a.dependencies,
    }));
  } finally {
    await access.close();
  }
}

export interface FollowOptions extends ClientOptions, IndexOptions {
  /** Go duration of falcoctl's `--every` in milliseconds (default 168h), or a cron expression. */
  everyMs?: number;
  cron?: string;
  startupBehavior?: StartupBehavior;
  falcoVersionsUrl?: string;
  timeoutMs?: number;
  rulesfilesDir?: string;
  pluginsDir?: string;
  assetsDir?: string;
  stateDir?: string;
  tmpDir?: string;
  allowedTypes?: ArtifactType[];
  noVerify?: boolean;
  listen?: string;
  healthUrl?: string;
  settleMs?: number;
  reloadSignal?: string;
  pidFile?: string;
  /** Required: abort it to stop the daemon (it never stops on its own). */
  signal: AbortSignal;
}

/** The Sigstore trusted root of the CLI's (SIGSTORE_ROOT_FILE, TUF_ROOT, ~/.sigstore/root) for `opts.env`. */
function trustedRootOf(opts: ClientOptions): ReturnType<typeof defaultTrustedRoot> {
  const env = opts.env ?? process.env;
  return defaultTrustedRoot(env, opts.home ?? env.HOME ?? homedir());
}

/**
 * Follows artifacts as `rulesctl artifact follow` does until `signal` aborts: one HEAD per reference
 * per tick, and on a new digest pull, check, validate, stage next to the targets, rename, optionally
 * signal Falco and check its health (rollback when unhealthy). falcoctl's defaults apply.
 */
export async function follow(refs: string[], opts: FollowOptions): Promise<{ stoppedCleanly: boolean }> {
  const access = openAccess(opts);
  const home = opts.home ?? (opts.env ?? process.env).HOME ?? '';
  try {
    const result = await followArtifacts({
      refs, targets: access.targets,
      schedule: createSchedule(opts.cron ? { cron: opts.cron } : { everyMs: opts.everyMs ?? 168 * 3_600_000 }),
      startupBehavior: opts.startupBehavior ?? 'jitter',
      falcoVersionsUrl: opts.falcoVersionsUrl ?? 'http://localhost:8765/versions',
      timeoutMs: opts.timeoutMs ?? 120_000,
      dirs: { rulesfile: opts.rulesfilesDir ?? '/etc/falco', plugin: opts.pluginsDir ?? '/usr/share/falco/plugins', asset: opts.assetsDir ?? '/etc/falco/assets' },
      stateDir: opts.stateDir ?? '/var/lib/falcoctl',
      tmpDir: opts.tmpDir ?? tmpdir(),
      allowedTypes: opts.allowedTypes ?? [],
      noVerify: opts.noVerify ?? false,
      trustedRoot: trustedRootOf(opts),
      indexes: opts.indexes ?? [],
      cacheDir: opts.cacheDir ?? defaultCacheDir(home),
      ...(opts.listen ? { listen: opts.listen } : {}),
      ...(opts.healthUrl ? { healthUrl: opts.healthUrl } : {}),
      ...(opts.settleMs !== undefined ? { settleMs: opts.settleMs } : {}),
      ...(opts.reloadSignal && opts.pidFile ? { reloadSignal: opts.reloadSignal, pidFile: opts.pidFile } : {}),
      log: opts.logger ?? nullLogger,
      signal: opts.signal,
    });
    return { stoppedCleanly: result.stoppedCleanly };
  } finally {
    await access.close();
  }
}
