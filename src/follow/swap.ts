import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { placeFiles, rollback, type PlaceChange, type Placement } from '../install/place.js';
import { nullLogger, type Logger } from '../log.js';
import type { PlacementGuard } from './daemon.js';

/**
 * The last step of a follow update: swap staged, already validated files into Falco's directories,
 * let Falco reload, check it is still healthy, and restore the last-good set if not
 * (registries.md §1.I item 1). Falco reloads on inotify after 100 ms of quiet, dry-runs the load,
 * then restarts after another 100 ms (falcoctl.md §11 "Falco reload"); `settleMs` covers that.
 *
 * Note: a failed hot reload leaves Falco running the old rules with a healthy `/healthz`, so this
 * check catches a Falco that dies or hangs on the new files, not rules it refused; validate first.
 */
export interface SwapOptions {
  /** Where the previous files are kept (outside Falco's watched directories). */
  lastGoodDir: string;
  /**
   * Runs the whole swap (place, reload, health check, rollback) as one uninterruptible section that
   * shutdown waits for, one at a time across the guard's users (`PlacementGuard.exclusive`).
   */
  guard?: PlacementGuard;
  /** Optional explicit reload (e.g. `sendReloadSignal`); failures are logged, not fatal. */
  reload?: () => Promise<unknown>;
  /** Falco's health after the swap (e.g. `checkFalcoHealth(healthzUrl)`); omitted = not checked. */
  verify?: () => Promise<{ healthy: boolean; reason?: string }>;
  /** Wait between the swap and the health check (default 1000 ms). */
  settleMs?: number;
  sleep?: (ms: number) => Promise<void>;
  log?: Logger;
  ref?: string;
}

export interface SwapResult {
  placement: Placement;
}

/**
 * Places `changes` atomically, reloads, verifies. On an unhealthy Falco it rolls back, reloads
 * again and throws ERR_INVALID_RULES naming the reason. Never aborted midway.
 */
export async function swapRules(changes: PlaceChange[], opts: SwapOptions): Promise<SwapResult> {
  const run = <T>(fn: () => Promise<T>) => (opts.guard ? opts.guard.exclusive(fn) : fn());
  return run(async () => {
    const log = opts.log ?? nullLogger;
    const sleep = opts.sleep ?? ((ms: number) => delay(ms));
    const placement = await placeFiles(changes, { lastGoodDir: opts.lastGoodDir });
    log.info('Rules files placed', { followerName: opts.ref, files: changes.map((c) => c.target) });
    await reloadFalco(opts, log);
    if (!opts.verify) return { placement };
    await sleep(opts.settleMs ?? 1000);
    const health = await opts.verify();
    if (health.healthy) return { placement };
    log.error('Falco is unhealthy after the update, restoring the previous files', { followerName: opts.ref, reason: health.reason });
    await rollback(placement);
    await reloadFalco(opts, log);
    throw new RulesctlError(
      ErrorCodes.INVALID_RULES,
      `Falco became unhealthy after the update (${health.reason ?? 'unknown reason'}); the previous files were restored`,
      { details: { files: changes.map((c) => c.target), reason: health.reason } },
    );
  });
}

async function reloadFalco(opts: SwapOptions, log: Logger): Promise<void> {
  if (!opts.reload) return;
  await opts.reload().catch((err: unknown) => {
    log.warn('Unable to signal Falco to reload', { followerName: opts.ref, reason: (err as Error).message });
  });
}
