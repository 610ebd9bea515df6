import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { Credential } from '../types.js';

export type HelperAction = 'get' | 'store' | 'erase';

export interface HelperRunOptions {
  /** The environment the helper runs with; its PATH finds `docker-credential-<name>`. */
  env: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  /** Default 30 s. */
  timeoutMs?: number;
}

/** Runs `docker-credential-<helper> <action>` with `input` on stdin; resolves with its stdout. */
export type HelperRunner = (helper: string, action: HelperAction, input: string, opts: HelperRunOptions) => Promise<string>;

/** docker-credential-helpers' "not found" message (credentials.ErrCredentialsNotFound). */
const NOT_FOUND = 'credentials not found in native keychain';

class HelperNotFound extends Error {}

/**
 * The default runner, through execa: no shell, `extendEnv: false` (only the injected env),
 * a timeout and the caller's AbortSignal. Failures throw `ERR_CREDENTIALS` with the helper's
 * first output line, with any secret from `input` replaced by `<redacted>`.
 * https://github.com/docker/docker-credential-helpers#development
 */
export const runHelper: HelperRunner = async (helper, action, input, opts) => {
  const bin = `docker-credential-${helper}`;
  // Loaded on first use: most runs never call a credential helper (start-up time).
  const { execa } = await import('execa');
  const r = await execa(bin, [action], {
    input,
    env: opts.env as Record<string, string>,
    extendEnv: false,
    timeout: opts.timeoutMs ?? 30_000,
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    reject: false,
    stripFinalNewline: true,
  });
  if (r.exitCode === 0 && !r.failed) return r.stdout;
  const secrets = secretsOf(input);
  const output = scrub(firstLine(r.stdout) || firstLine(r.stderr), secrets);
  if (output === NOT_FOUND) throw new HelperNotFound(output);
  if (r.isCanceled || opts.signal?.aborted) throw new RulesctlError(ErrorCodes.ABORTED, `credential helper "${bin}" was aborted`);
  if (r.timedOut) throw new RulesctlError(ErrorCodes.TIMEOUT, `credential helper "${bin}" ${action} timed out`);
  if ((r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' || r.code === 'ENOENT') {
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `credential helper "${bin}" not found`, {
      hint: `install ${bin} on PATH, or remove "credsStore"/"credHelpers" from the docker config`,
    });
  }
  throw new RulesctlError(ErrorCodes.CREDENTIALS, `credential helper "${bin}" ${action} failed: ${output || `exit code ${r.exitCode ?? 'unknown'}`}`);
};

function firstLine(text: string | undefined): string {
  return (text ?? '').trim().split('\n')[0]?.trim() ?? '';
}

function secretsOf(input: string): string[] {
  try {
    const v = JSON.parse(input) as { Secret?: unknown };
    return typeof v.Secret === 'string' && v.Secret !== '' ? [v.Secret] : [];
  } catch {
    return [];
  }
}

function scrub(text: string, secrets: string[]): string {
  return secrets.reduce((t, s) => t.split(s).join('<redacted>'), text);
}

/** `get`: undefined when the helper has nothing for `serverURL`. `<token>` user = identity token. */
export async function helperGet(run: HelperRunner, helper: string, serverURL: string, opts: HelperRunOptions): Promise<Credential | undefined> {
  let out: string;
  try {
    out = await run(helper, 'get', serverURL, opts);
  } catch (err) {
    if (err instanceof HelperNotFound || (err as Error).message?.includes(NOT_FOUND)) return undefined;
    throw err;
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(out) as typeof parsed;
  } catch {
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `credential helper "docker-credential-${helper}" get returned invalid JSON for "${serverURL}"`);
  }
  const username = typeof parsed.Username === 'string' ? parsed.Username : '';
  const secret = typeof parsed.Secret === 'string' ? parsed.Secret : '';
  if (secret === '' && username === '') return undefined;
  if (username === '<token>') return { kind: 'identity-token', token: secret };
  return { kind: 'basic', username, password: secret };
}

/** `store`: basic credentials, or an identity token as user `<token>`. Bearer tokens cannot be stored. */
export async function helperStore(run: HelperRunner, helper: string, serverURL: string, cred: Credential, opts: HelperRunOptions): Promise<void> {
  if (cred.kind === 'bearer') {
    throw new RulesctlError(ErrorCodes.CREDENTIALS, `cannot store a registry token for "${serverURL}" in credential helper "docker-credential-${helper}"`);
  }
  const body = cred.kind === 'basic'
    ? { ServerURL: serverURL, Username: cred.username, Secret: cred.password }
    : { ServerURL: serverURL, Username: '<token>', Secret: cred.token };
  await run(helper, 'store', JSON.stringify(body), opts);
}

/** `erase`: true when removed, false when the helper had nothing. */
export async function helperErase(run: HelperRunner, helper: string, serverURL: string, opts: HelperRunOptions): Promise<boolean> {
  try {
    await run(helper, 'erase', serverURL, opts);
    return true;
  } catch (err) {
    if (err instanceof HelperNotFound || (err as Error).message?.includes(NOT_FOUND)) return false;
    throw err;
  }
}
