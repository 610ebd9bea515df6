import { ErrorCodes, RulesctlError } from '../errors.js';

/**
 * The semver dialects falcoctl uses (falcoctl.md §2, §5): `STRICT_VERSION` is falcoctl's artifact regex
 * (`X.Y.Z[-pre]`, no `v`, no build metadata: `--version`, `--depends-on`); `isBlangSemver` is blang
 * `semver.Parse` (also allows `+build`: `--add-floating-tags`, `required_engine_version` strings);
 * `parseTolerant` is blang `ParseTolerant` (pulled config versions).
 */
const PRE = '(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)';
const CORE = '(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)';
export const STRICT_VERSION = new RegExp(`^${CORE}(?:-(${PRE}(?:\\.${PRE})*))?$`);
const BLANG = new RegExp(`^${CORE}(?:-(${PRE}(?:\\.${PRE})*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$`);

/** falcoctl's artifact version regex: `X.Y.Z[-pre]`, no `v`, no build metadata. */
export function isStrictVersion(v: string): boolean {
  return STRICT_VERSION.test(v);
}

/** blang/semver `Parse`: `X.Y.Z[-pre][+build]`, no leading zeros. */
export function isBlangSemver(v: string): boolean {
  return BLANG.test(v);
}

/** major and minor of a blang-valid version; throws ERR_USAGE otherwise. */
export function majorMinor(v: string): { major: string; minor: string } {
  const m = BLANG.exec(v);
  if (!m) throw new RulesctlError(ErrorCodes.USAGE, `expected semver for the flag "--version": invalid version "${v}"`);
  return { major: m[1]!, minor: m[2]! };
}

/**
 * blang ParseTolerant: trims spaces and one leading `v`, strips leading zeros, pads `1` / `1.2` to
 * three parts. Returns the normalized `X.Y.Z[-pre][+build]`, or `undefined` when it is not a version.
 */
export function parseTolerant(input: string): string | undefined {
  const s = input.trim().replace(/^v/, '');
  const parts = splitN(s, '.', 3).map((p) => {
    if (p.length <= 1) return p;
    const t = p.replace(/^0+/, '');
    return t.length === 0 || !/^[0-9]/.test(t) ? `0${t}` : t;
  });
  if (parts.length < 3) {
    if (/[+-]/.test(parts[parts.length - 1]!)) return undefined;
    while (parts.length < 3) parts.push('0');
  }
  const joined = parts.join('.');
  return BLANG.test(joined) ? joined : undefined;
}

function splitN(s: string, sep: string, n: number): string[] {
  const all = s.split(sep);
  return all.length <= n ? all : [...all.slice(0, n - 1), all.slice(n - 1).join(sep)];
}
