import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../errors.js';
import { placeFiles, rollback, type PlaceChange, type Placement } from '../install/place.js';
import { nullLogger, type Logger } from '../log.js';
import type { PlacementGuard } from './daemon.js';
import type { FalcoHealth } from './falco-client.js';

/**
 * The last step of a follow update: swap staged, already validated files into Falco's directories,
 * let Falco reload, check it is still healthy, and restore the last-good set if not
 * (registries.md §1.I item 1). Falco reloads on inotify after 100 ms of quiet, dry-runs the load,
 * then restarts after another 100 ms (falcoctl.md §11 "Falco reload"), its web server down until the
 * new run started it again; `settleMs` covers the first part, `verify` must wait out the restart
 * (`waitForFalcoHealth`). Whether Falco was healthy before the swap is the guard's `before` check
 * (`healthyBeforeSwap`), so a Falco already down is not blamed on the update.
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
  /**
   * Falco's health after the swap, once Falco restarted (e.g. `waitForFalcoHealth` over
   * `checkFalcoHealth(healthzUrl)`); unhealthy = roll back. Asked again after a rollback, to log
   * whether Falco recovered. Omitted = not checked.
   */
  verify?: () => Promise<FalcoHealth>;
  /** Wait between the swap (or the rollback) and the health check (default 1000 ms). */
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
 * again, waits for Falco to recover (logged) and throws ERR_INVALID_RULES naming the reason. When
 * the rollback itself fails it logs `Rollback failed` and throws ERR_IO with
 * `details.rollbackFailed` (see `isRollbackFailure`): the files may be the new version. Never
 * aborted midway.
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
    await rollbackOrThrow(placement, health, opts, log);
    await reloadFalco(opts, log);
    await sleep(opts.settleMs ?? 1000);
    logRecovery(await opts.verify(), opts, log);
    throw new RulesctlError(
      ErrorCodes.INVALID_RULES,
      `Falco became unhealthy after the update (${health.reason ?? 'unknown reason'}); the previous files were restored`,
      { details: { files: changes.map((c) => c.target), reason: health.reason } },
    );
  });
}

/**
 * The check before a swap, for the guard's `before`: Falco must be healthy before its files change,
 * so that a Falco already down or restarting is not blamed on the update. One probe; when it fails,
 * throws ERR_NETWORK (nothing placed; the update is tried again at a later check).
 */
export function healthyBeforeSwap(probe: () => Promise<FalcoHealth>): () => Promise<void> {
  return async () => {
    const health = await probe();
    if (health.healthy) return;
    throw new RulesctlError(
      ErrorCodes.NETWORK,
      `Falco is not healthy before the update (${health.reason ?? 'unknown reason'}); no file was changed`,
      { hint: 'the update is tried again at a later check; check Falco\'s logs', details: { reason: health.reason } },
    );
  };
}

/** True for the error `swapRules` throws when restoring the previous files failed. */
export function isRollbackFailure(err: unknown): err is RulesctlError {
  return isRulesctlError(err, ErrorCodes.IO) && err.details?.rollbackFailed === true;
}

async function rollbackOrThrow(placement: Placement, health: FalcoHealth, opts: SwapOptions, log: Logger): Promise<void> {
  try {
    await rollback(placement);
  } catch (err) {
    const files = placement.files.map((f) => f.target);
    log.error('Rollback failed, the files may be the new version', { followerName: opts.ref, files, reason: (err as Error).message });
    throw new RulesctlError(
      ErrorCodes.IO,
      `rollback failed after Falco became unhealthy (${health.reason ?? 'unknown reason'}): ${(err as Error).message}; the files may be the new version`,
      { cause: err, hint: 'check the files and Falco\'s logs; the update is tried again at the next check', details: { rollbackFailed: true, files, reason: health.reason } },
    );
  }
}

function logRecovery(health: FalcoHealth, opts: SwapOptions, log: Logger): void {
  if (health.healthy) log.info('Falco is healthy with the previous files', { followerName: opts.ref });
  else log.error('Falco is still unhealthy with the previous files', { followerName: opts.ref, reason: health.reason });
}

async function reloadFalco(opts: SwapOptions, log: Logger): Promise<void> {
  if (!opts.reload) return;
  await opts.reload().catch((err: unknown) => {
    log.warn('Unable to signal Falco to reload', { followerName: opts.ref, reason: (err as Error).message });
  });
}
