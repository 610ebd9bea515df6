import { ErrorCodes, RulesctlError } from '../../errors.js';
import { redact } from '../auth/redact.js';

/** Patterns of oras' stderr, first match wins, with what to do next. */
const HINTS: { test: RegExp; hint: (host: string) => string }[] = [
  { test: /executable file not found|ENOENT|spawn oras/i, hint: () => 'install oras >= 1.2 (https://oras.land/docs/installation) or use --backend native' },
  { test: /unknown (flag|shorthand flag)|unknown command/i, hint: () => 'this oras is too old for rulesctl: install oras >= 1.2, or use --backend native' },
  { test: /server gave HTTP response to HTTPS client/i, hint: () => 'the registry speaks plain HTTP: add --plain-http' },
  { test: /x509|certificate|tls:/i, hint: () => 'trust the registry CA with --ca-file FILE, or skip verification with --insecure' },
  { test: /\b401\b|unauthorized|credential required|basic credential not found|authentication required/i,
    hint: (h) => `log in first: rulesctl registry auth basic ${h} (or set FALCOCTL_REGISTRY_AUTH_BASIC)` },
  { test: /\b403\b|denied|forbidden/i, hint: () => 'the credentials lack permission on this repository: check the token scopes or the package settings' },
  { test: /\b404\b|not found|manifest unknown|name unknown|blob unknown/i, hint: () => 'check the reference: repository and tag must exist (rulesctl artifact info REF)' },
  { test: /connection refused|no such host|i\/o timeout|network is unreachable|EOF/i, hint: (h) => `check that the registry ${h} is reachable` },
  { test: /digest|size mismatch|content length/i, hint: () => 'the registry served corrupted content: push the artifact again' },
];

/** The most useful line of oras' stderr: its `Error: …` line, else the last non-empty one. */
export function orasErrorLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const err = lines.find((l) => /^Error( response from registry)?:/.test(l));
  return (err ?? lines[lines.length - 1] ?? 'no output').replace(/^Error:\s*/, '');
}

/**
 * Maps a failed `oras` run to ERR_ORAS: what failed (the verb and the reference, as given), oras' own
 * error line (secrets redacted), and a hint picked from the stderr text.
 */
export function mapOrasError(args: readonly string[], result: { exitCode?: number | undefined; stderr: string; spawnError?: string }, host = 'REGISTRY'): RulesctlError {
  const verb = args.slice(0, args[0] === 'manifest' || args[0] === 'blob' ? 2 : 1).join(' ');
  const ref = args.find((a, i) => i > 0 && /[/@]/.test(a) && !a.startsWith('-')) ?? '';
  const text = redact(result.spawnError ?? result.stderr);
  const line = result.spawnError ? redact(result.spawnError) : orasErrorLine(text);
  const match = HINTS.find((h) => h.test.test(text));
  const hint = match ? match.hint(host) : 'rerun with --log-level debug to see oras output, or use --backend native';
  return new RulesctlError(ErrorCodes.ORAS, `oras ${verb}${ref ? ` "${ref}"` : ''} failed: ${line}`, {
    hint,
    details: { args: args.filter((a) => a !== '--password-stdin'), exitCode: result.exitCode, stderr: text.slice(0, 4000) },
  });
}
