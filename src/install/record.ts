import { readFile } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { serializeLock, writeLock, type LockFile } from '../resolve/lock.js';
import type { Plan } from './plan.js';
import { readState, writeState } from './state.js';

export interface RecordOptions {
  log: Logger;
  now?: (() => number) | undefined;
  /** `os/arch` plugins were selected for. */
  platformKey: string;
}

/** The lock describing `plan` (src/resolve/lock.ts format). */
export function lockOf(plan: Plan, platformKey: string): LockFile {
  return {
    version: 1,
    entries: plan.artifacts.map((a) => ({
      name: a.name, ref: a.ref, digest: a.inspected.rootDigest, type: a.inspected.type, version: a.version,
      ...(a.inspected.type === 'plugin' ? { platform: platformKey } : {}),
      dependencies: [...a.dependencies],
    })),
  };
}

/**
 * After the files are placed: the shared state file per artifact (resolved ref → root digest,
 * spec §11; rewritten only when the digest changed; failures are warnings, as in falcoctl), then
 * the lock file when one is asked for and not frozen (rewritten only when its text changes).
 * Returns the lock file path, if any.
 */
export async function recordInstall(
  plan: Plan,
  request: { stateDir: string; lockFile?: string; frozen?: boolean; signal?: AbortSignal },
  opts: RecordOptions,
): Promise<string | undefined> {
  for (const a of plan.artifacts) {
    const digest = a.inspected.rootDigest;
    try {
      const current = await readState(request.stateDir, a.ref, { log: opts.log });
      if (current?.digest === digest) continue;
      await writeState(request.stateDir, a.ref, digest, { ...(opts.now ? { now: opts.now } : {}), log: opts.log });
    } catch (err) {
      opts.log.warn('Unable to save artifact state', { ref: a.ref, reason: (err as Error).message });
    }
  }
  if (request.lockFile === undefined) return undefined;
  if (request.frozen) return request.lockFile;
  const lock = lockOf(plan, opts.platformKey);
  const existing = await readFile(request.lockFile, 'utf8').catch(() => undefined);
  if (existing !== serializeLock(lock)) await writeLock(request.lockFile, lock);
  return request.lockFile;
}
