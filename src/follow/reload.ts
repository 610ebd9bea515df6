import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { ErrorCodes, RulesctlError } from '../errors.js';

/**
 * Optional `--reload-signal`: after a swap, signal Falco (pid from its pid file) so that it reloads
 * even when its inotify watch misses a rename (Falco < 0.37, registries.md §1.I item 1). Falco treats
 * SIGHUP as "reload" (falcoctl.md §11 "Falco reload"). Off by default: inotify normally suffices.
 */
export interface ReloadOptions {
  /** Signal name, default `SIGHUP`. */
  signal?: string;
  signalAbort?: AbortSignal;
  /** Injected for tests (default `process.kill`). */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
}

/** Validates a signal name (`SIGHUP`, `HUP`, `SIGUSR1`…); throws ERR_USAGE. */
export function parseSignalName(name: string): NodeJS.Signals {
  const upper = name.trim().toUpperCase();
  const full = (upper.startsWith('SIG') ? upper : `SIG${upper}`) as NodeJS.Signals;
  if (!(full in constants.signals)) {
    throw new RulesctlError(ErrorCodes.USAGE, `unknown signal "${name}"`, { hint: 'use a name like SIGHUP or SIGUSR1' });
  }
  return full;
}

/**
 * Reads the pid from `pidFile` (first integer) and sends it the signal. Returns the pid.
 * Throws ERR_IO when the file is unreadable or the process is gone, ERR_USAGE for a bad signal.
 */
export async function sendReloadSignal(pidFile: string, opts: ReloadOptions = {}): Promise<number> {
  const sig = parseSignalName(opts.signal ?? 'SIGHUP');
  let text: string;
  try {
    text = await readFile(pidFile, { encoding: 'utf8', signal: opts.signalAbort });
  } catch (err) {
    throw new RulesctlError(ErrorCodes.IO, `cannot read Falco pid file "${pidFile}": ${(err as Error).message}`, { cause: err });
  }
  const pid = Number(/^\s*(\d+)/.exec(text)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new RulesctlError(ErrorCodes.IO, `pid file "${pidFile}" does not hold a usable pid`, { details: { content: text.slice(0, 40) } });
  }
  try {
    (opts.kill ?? process.kill)(pid, sig);
  } catch (err) {
    throw new RulesctlError(ErrorCodes.IO, `cannot send ${sig} to Falco (pid ${pid} from "${pidFile}"): ${(err as Error).message}`, {
      cause: err,
      hint: 'share the process namespace with Falco (shareProcessNamespace: true) or drop --reload-signal',
    });
  }
  return pid;
}
