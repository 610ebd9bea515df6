import { nullLogger, type Logger } from '../log.js';
import { abortableSleep } from '../follow/daemon.js';
import { nextWait, type Schedule } from '../follow/schedule.js';
import { syncOnce, type SyncArtifact, type SyncDeps, type SyncMemory, type SyncOutcome } from './sync.js';

/**
 * `registry sync --every/--cron`: a pass at once, then one per schedule fire, each wait measured
 * from the end of the previous pass (as follow, falcoctl.md §11 "Schedule"). Stops when `signal`
 * aborts (between passes, or by aborting the pass's requests). Resolves with the last pass.
 */
export interface SyncLoopOptions extends SyncDeps {
  schedule: Schedule;
  signal: AbortSignal;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called after each pass. */
  onPass?: (outcomes: SyncOutcome[]) => void;
}

export async function syncLoop(artifacts: readonly SyncArtifact[], opts: SyncLoopOptions): Promise<SyncOutcome[]> {
  const log: Logger = opts.log ?? nullLogger;
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? abortableSleep;
  const memory: SyncMemory = new Map();
  let last: SyncOutcome[] = [];
  while (!opts.signal.aborted) {
    try {
      last = await syncOnce(artifacts, opts, memory);
      opts.onPass?.(last);
      const counts = count(last);
      log.info('Sync pass finished', { ...counts, schedule: opts.schedule.description });
    } catch (err) {
      if (opts.signal.aborted) break;
      log.error('Sync pass failed', { reason: (err as Error).message });
    }
    const wait = nextWait(opts.schedule, now());
    log.debug('Next sync pass', { waitMs: wait });
    await sleep(wait, opts.signal);
  }
  return last;
}

export function count(outcomes: readonly SyncOutcome[]): Record<'copied' | 'unchanged' | 'failed', number> {
  const c = { copied: 0, unchanged: 0, failed: 0 };
  for (const o of outcomes) c[o.status]++;
  return c;
}
