import type { Readable, Writable } from 'node:stream';

/** Everything the CLI touches in the outside world, injected so commands run in-process in tests. */
export interface CliIO {
  env: Record<string, string | undefined>;
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin?: Readable & { isTTY?: boolean };
  cwd: string;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

/** Exit codes: 0 success, 1 any failure, 2 usage error (bad flag, argument or value). */
export const ExitCodes = { ok: 0, failure: 1, usage: 2 } as const;
