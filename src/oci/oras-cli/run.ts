import { execa } from 'execa';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import { nullLogger, type Logger } from '../../log.js';
import { redact } from '../auth/redact.js';
import { mapOrasError } from './errors.js';

export interface OrasRunOptions {
  cwd?: string;
  /** Written to oras' stdin (the password for `--password-stdin`). */
  input?: string;
  signal?: AbortSignal;
}

export interface OrasRunResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number | undefined;
  /** Set when the process could not be started (e.g. oras not on PATH). */
  spawnError?: string;
}

/** Runs oras once; never throws for a non-zero exit (the backend maps it). Injected in unit tests. */
export type OrasRunner = (args: readonly string[], opts: OrasRunOptions) => Promise<OrasRunResult>;

export interface ExecaRunnerOptions {
  /** The executable; default `oras` from PATH. */
  bin?: string;
  env?: Record<string, string | undefined>;
}

/**
 * The real runner: execa with `cancelSignal` (SIGTERM on abort), stdout as bytes, stderr captured,
 * stdin only the given input (never inherited).
 */
export function execaRunner(opts: ExecaRunnerOptions = {}): OrasRunner {
  return async (args, o) => {
    const r = await execa(opts.bin ?? 'oras', [...args], {
      reject: false,
      encoding: 'buffer',
      stripFinalNewline: false,
      ...(o.input !== undefined ? { input: o.input } : { stdin: 'ignore' as const }),
      ...(o.cwd ? { cwd: o.cwd } : {}),
      ...(opts.env ? { env: opts.env, extendEnv: false } : {}),
      ...(o.signal ? { cancelSignal: o.signal } : {}),
    });
    if (r.isCanceled) {
      throw new RulesctlError(ErrorCodes.ABORTED, `oras ${args[0] ?? ''} was cancelled`, { cause: o.signal?.reason });
    }
    const stderr = Buffer.from(r.stderr as Uint8Array).toString('utf8');
    const result: OrasRunResult = { stdout: Buffer.from(r.stdout as Uint8Array), stderr, exitCode: r.exitCode };
    if (r.failed && r.exitCode === undefined) result.spawnError = r.shortMessage;
    return result;
  };
}

/** Runs oras and returns stdout, or throws ERR_ORAS mapped from its stderr. Logs the command at debug. */
export async function runOras(
  runner: OrasRunner,
  args: readonly string[],
  opts: OrasRunOptions & { logger?: Logger; host?: string } = {},
): Promise<Buffer> {
  const logger = opts.logger ?? nullLogger;
  logger.debug('Running oras', { args: redact(args.join(' ')) });
  const r = await runner(args, opts);
  if (r.exitCode === 0 && !r.spawnError) return r.stdout;
  if (opts.signal?.aborted) throw new RulesctlError(ErrorCodes.ABORTED, `oras ${args[0] ?? ''} was cancelled`, { cause: opts.signal.reason });
  logger.debug('oras failed', { exitCode: r.exitCode, stderr: redact(r.stderr) });
  throw mapOrasError(args, r, opts.host);
}
