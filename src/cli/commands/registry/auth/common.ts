import { ErrorCodes, RulesctlError } from '../../../../errors.js';

/**
 * The registry host of a `registry auth` argument: a scheme is dropped and a reference is cut to
 * its registry (`ghcr.io/org/rules:1` → `ghcr.io`), as falcoctl does (spec falcoctl.md §6, §10).
 * @throws RulesctlError ERR_USAGE for an empty host.
 */
export function registryArgument(raw: string): string {
  let s = raw.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = s.indexOf('/');
  if (slash >= 0) s = s.slice(0, slash);
  if (s === '' || /[\s@]/.test(s)) {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid registry "${raw}"`, { hint: 'Give a registry host such as ghcr.io or localhost:5000.' });
  }
  return s;
}

/** The first non-empty of the values (flag, then env var). */
export function firstSet(...values: (string | undefined)[]): string | undefined {
  return values.find((v) => v !== undefined && v !== '');
}

/** falcoctl's truthy env spelling (strconv.ParseBool). */
export function envBool(value: string | undefined): boolean {
  return value !== undefined && ['1', 't', 'true', 'TRUE', 'True', 'T'].includes(value);
}
