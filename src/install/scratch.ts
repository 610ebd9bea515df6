import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive } from '../util/process.js';

/** Scratch directories of this process still in use. */
const active = new Set<string>();
const NAME = /^(\d+)-[0-9a-f]+$/;


/**
 * A private extraction area `<stateDir>/.rulesctl/work/<pid>-<random>` (never a destination).
 * Areas left by processes that no longer run (kill -9, OOM; our own pid reused by a restarted
 * container counts as gone unless in use here), and entries not named `<pid>-<hex>`, are removed
 * first. Returns the path and a
 * release function that removes it.
 */
export async function openScratch(stateDir: string): Promise<{ dir: string; release(): Promise<void> }> {
  const base = join(stateDir, '.rulesctl', 'work');
  await mkdir(base, { recursive: true, mode: 0o700 });
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const m = NAME.exec(name);
    const path = join(base, name);
    // Everything under work/ is rulesctl's: an entry not named <pid>-<hex> (an older layout's
    // extraction) belongs to no running process either.
    if (m === null) {
      await rm(path, { recursive: true, force: true });
      continue;
    }
    const pid = Number(m[1]);
    const stale = pid === process.pid ? !active.has(path) : !isAlive(pid);
    if (stale) await rm(path, { recursive: true, force: true });
  }
  const dir = join(base, `${process.pid}-${randomBytes(4).toString('hex')}`);
  active.add(dir);
  await mkdir(dir, { mode: 0o700 });
  return {
    dir,
    async release() {
      active.delete(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
