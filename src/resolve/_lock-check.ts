import { ErrorCodes, RulesctlError } from '../errors.js';
import type { LockEntry, LockFile } from './lock.js';

/** What `install --frozen` asks of the lock. */
export interface LockRequest {
  /** The resolved root refs (spec §7), e.g. `ghcr.io/falcosecurity/rules/falco-rules:3`. */
  refs: readonly string[];
  /** Target `os/arch` for plugins. */
  platform?: string;
  /** When dependencies are resolved: entries reachable from the roots must all be present. Default true. */
  resolveDeps?: boolean;
  /** A fresh resolution to compare with (name → version), when the caller has one. */
  resolved?: ReadonlyArray<{ name: string; version: string }>;
}

function reachable(byName: Map<string, LockEntry>, roots: LockEntry[], problems: string[]): void {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (seen.has(e.name)) continue;
    seen.add(e.name);
    for (const d of e.dependencies) {
      const dep = byName.get(d);
      if (dep === undefined) problems.push(`${e.name} depends on ${d}, which is not in the lock`);
      else stack.push(dep);
    }
  }
}

/**
 * Whether `lock` can serve an install without re-resolving (`--frozen`): every requested ref is
 * an entry's `ref`, every dependency of those entries is locked (when resolving dependencies),
 * plugins were locked for the requested platform, and a given fresh resolution agrees on versions.
 * Returns the problems; `ok` when there are none.
 */
export function lockSatisfies(lock: LockFile, req: LockRequest): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  const byName = new Map(lock.entries.map((e) => [e.name, e]));
  const roots: LockEntry[] = [];
  for (const ref of req.refs) {
    const e = lock.entries.find((x) => x.ref === ref);
    if (e === undefined) problems.push(`no lock entry for ${ref}`);
    else roots.push(e);
  }
  if (req.resolveDeps !== false) reachable(byName, roots, problems);
  if (req.platform !== undefined) {
    for (const e of lock.entries) {
      if (e.type === 'plugin' && e.platform !== undefined && e.platform !== req.platform) {
        problems.push(`${e.name} is locked for ${e.platform}, not ${req.platform}`);
      }
    }
  }
  for (const r of req.resolved ?? []) {
    const e = byName.get(r.name);
    if (e === undefined) problems.push(`${r.name} ${r.version} is needed but not locked`);
    else if (e.version !== r.version) problems.push(`${r.name} is locked at ${e.version}, resolution wants ${r.version}`);
  }
  return { ok: problems.length === 0, problems };
}

/** lockSatisfies, throwing ERR_LOCK_MISMATCH listing the problems. */
export function assertLockSatisfies(lock: LockFile, req: LockRequest, source = 'rulesctl.lock.json'): void {
  const { problems } = lockSatisfies(lock, req);
  if (problems.length > 0) {
    throw new RulesctlError(ErrorCodes.LOCK_MISMATCH, `${source} does not match the request: ${problems.join('; ')}`, {
      hint: 'run the install without --frozen to update the lock file',
      details: { problems },
    });
  }
}
