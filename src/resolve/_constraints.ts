import semver from './_semver.js';
import type { Range } from 'semver';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { parseTolerant } from '../artifact/semver.js';

/**
 * Dependency constraints. A config dependency `name:X.Y.Z` is a minimum within its major, as
 * falcoctl compares (spec §9: same major is compatible, for 0.x too): `>=X.Y.Z <(X+1).0.0`.
 */
export interface Constraint {
  /** Who asked: `name version` of the dependent. */
  from: string;
  /** The minimum version stated by the dependent. */
  min: string;
  range: Range;
}

/** Normalises a version as falcoctl does (blang ParseTolerant); throws a clear error otherwise. */
export function toVersion(raw: string | undefined, what: string): string {
  const v = raw === undefined || raw === '' ? undefined : parseTolerant(raw);
  if (v === undefined || semver.valid(v) === null) {
    throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `${what}: "${raw ?? ''}" is not a semver version`, {
      hint: 'artifact configs must carry versions like 1.2.3',
    });
  }
  return semver.valid(v)!;
}

export function constraintFor(from: string, min: string): Constraint {
  const major = semver.major(min);
  return { from, min, range: new semver.Range(`>=${min} <${major + 1}.0.0-0`) };
}

/** `^1.2.0` for majors >= 1; `>=0.7.0 <1.0.0` for 0.x (not npm's caret, which would stop at 0.8). */
export function describeConstraint(name: string, min: string): string {
  return semver.major(min) === 0 ? `${name} >=${min} <1.0.0` : `${name} ^${min}`;
}

export function satisfiesAll(version: string, constraints: readonly Constraint[]): boolean {
  return constraints.every((c) => semver.satisfies(version, c.range));
}

/**
 * The version to use for constrained `name`: with a tag list, the highest version satisfying every
 * constraint; without one, falcoctl's rule: the highest stated minimum (its exact tag).
 */
export function pickVersion(constraints: readonly Constraint[], versions: readonly string[] | undefined): string | undefined {
  if (versions !== undefined) {
    const valid = versions.filter((v) => semver.valid(v) === v);
    return valid.filter((v) => satisfiesAll(v, constraints)).sort(semver.rcompare)[0];
  }
  const highestMin = constraints.map((c) => c.min).sort(semver.rcompare)[0];
  return highestMin !== undefined && satisfiesAll(highestMin, constraints) ? highestMin : undefined;
}
