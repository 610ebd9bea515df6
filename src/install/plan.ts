import { ErrorCodes, RulesctlError } from '../errors.js';
import { resolveDependencies } from '../resolve/dependencies.js';
import { assertLockSatisfies, type LockEntry, type LockFile } from '../resolve/lock.js';
import { resolveReference, type ResolvedReference } from '../resolve/reference.js';
import type { InspectedArtifact, InstallSession } from './session.js';

/** One artifact to install, with why it is in the plan. */
export interface PlannedArtifact {
  name: string;
  version: string;
  /** The resolved reference (tag form): the state file's key. */
  ref: string;
  /** What the user typed, for roots. */
  input?: string;
  requested: boolean;
  /** Names of planned artifacts this one depends on. */
  dependencies: string[];
  inspected: InspectedArtifact;
}

export interface Plan {
  /** Dependencies before their dependents. */
  artifacts: PlannedArtifact[];
  warnings: string[];
}

export interface PlanOptions {
  refs: readonly string[];
  resolveDeps: boolean;
  signal?: AbortSignal;
}

const repoOf = (ref: string) => ref.replace(/@.*$/, '').replace(/:[^/:]*$/, '');

/**
 * Resolves the user's refs (spec §7; full refs never load the index), reads each config, and
 * resolves dependencies to the highest compatible versions (src/resolve/dependencies.ts, spec §9).
 */
export async function planInstall(session: InstallSession, opts: PlanOptions): Promise<Plan> {
  const { signal } = opts;
  const roots: ResolvedReference[] = [];
  for (const input of opts.refs) {
    roots.push(await resolveReference(input, { index: () => session.index(), listTags: (repo) => session.listTags(repo), signal }));
  }
  const resolution = await resolveDependencies(roots.map((r) => ({ ref: r.ref, input: r.input })), {
    resolveDeps: opts.resolveDeps,
    signal,
    fetchConfig: async (ref) => (await session.inspect(ref)).config,
    resolveRef: async (name, version) => ({ ref: (await resolveReference(`${name}:${version}`, { index: () => session.index(), signal })).ref }),
    listVersions: async (name) => {
      const entry = (await session.index()).byName.get(name);
      if (entry === undefined) {
        throw new RulesctlError(ErrorCodes.UNKNOWN_ARTIFACT, `unable to resolve reference for dependency "${name}": cannot find ${name} among the configured indexes`, {
          hint: `add the index that has "${name}" with "rulesctl index add", or install with --resolve-deps=false`,
          details: { name },
        });
      }
      return session.listTags(`${entry.registry}/${entry.repository}`);
    },
  });
  const artifacts: PlannedArtifact[] = [];
  for (const a of resolution.artifacts) {
    const root = roots.find((r) => r.ref === a.ref);
    artifacts.push({
      name: a.name, version: a.version, ref: a.ref, requested: a.requested, dependencies: a.dependencies,
      ...(root ? { input: root.input } : {}),
      inspected: await session.inspect(a.ref),
    });
  }
  return { artifacts, warnings: resolution.warnings };
}

/** The tag of a lock entry's ref, if it has one. */
function tagOf(ref: string): string | undefined {
  if (ref.includes('@')) return undefined;
  const m = /:([^/:]+)$/.exec(ref);
  return m?.[1];
}

/** Lock entries reachable from `roots`, dependencies first. */
function closure(lock: LockFile, roots: LockEntry[], withDeps: boolean): LockEntry[] {
  const byName = new Map(lock.entries.map((e) => [e.name, e]));
  const out: LockEntry[] = [];
  const seen = new Set<string>();
  const visit = (e: LockEntry) => {
    if (seen.has(e.name)) return;
    seen.add(e.name);
    if (withDeps) for (const d of e.dependencies) visit(byName.get(d)!);
    out.push(e);
  };
  roots.forEach(visit);
  return out;
}

/**
 * `--frozen`: maps each ref to its lock entry (ranges resolve against the locked tags, never the
 * registry's), checks the lock covers the request (src/resolve/lock.ts), then reads every entry
 * BY DIGEST and checks its config still names the locked name and version. ERR_LOCK_MISMATCH
 * otherwise.
 */
export async function planFrozen(session: InstallSession, lock: LockFile, opts: PlanOptions & { platform: string; source: string }): Promise<Plan> {
  const { signal } = opts;
  const lockedTags = async (repo: string) => lock.entries.filter((e) => repoOf(e.ref) === repo).flatMap((e) => tagOf(e.ref) ?? []);
  const roots: ResolvedReference[] = [];
  for (const input of opts.refs) roots.push(await resolveReference(input, { index: () => session.index(), listTags: lockedTags, signal }));
  assertLockSatisfies(lock, { refs: roots.map((r) => r.ref), platform: opts.platform, resolveDeps: opts.resolveDeps }, opts.source);
  const rootEntries = roots.map((r) => lock.entries.find((e) => e.ref === r.ref)!);
  const artifacts: PlannedArtifact[] = [];
  for (const e of closure(lock, rootEntries, opts.resolveDeps)) {
    const inspected = await session.inspect(`${repoOf(e.ref)}@${e.digest}`);
    const { name, version } = inspected.config;
    if (name !== e.name || (version !== e.version && `${version}` !== e.version)) {
      throw new RulesctlError(ErrorCodes.LOCK_MISMATCH, `${opts.source}: ${repoOf(e.ref)}@${e.digest} is ${name ?? '?'} ${version ?? '?'}, the lock says ${e.name} ${e.version}`, {
        hint: 'run the install without --frozen to update the lock file',
      });
    }
    const root = roots.find((r) => r.ref === e.ref);
    artifacts.push({
      name: e.name, version: e.version, ref: e.ref, requested: root !== undefined,
      dependencies: opts.resolveDeps ? [...e.dependencies] : [],
      ...(root ? { input: root.input } : {}),
      inspected,
    });
  }
  return { artifacts, warnings: [] };
}
