import { createRequire } from 'node:module';
import type * as Semver from 'semver';

/**
 * The semver functions rulesctl uses, required one by one: the package index loads all ~50 of its
 * modules (ranges algebra, coercion, subset…), about 15 ms of every CLI start-up that resolves.
 */
const require = createRequire(import.meta.url);

const semver = {
  Range: require('semver/classes/range.js') as typeof Semver.Range,
  valid: require('semver/functions/valid.js') as typeof Semver.valid,
  compare: require('semver/functions/compare.js') as typeof Semver.compare,
  rcompare: require('semver/functions/rcompare.js') as typeof Semver.rcompare,
  major: require('semver/functions/major.js') as typeof Semver.major,
  gt: require('semver/functions/gt.js') as typeof Semver.gt,
  satisfies: require('semver/functions/satisfies.js') as typeof Semver.satisfies,
  validRange: require('semver/ranges/valid.js') as typeof Semver.validRange,
  maxSatisfying: require('semver/ranges/max-satisfying.js') as typeof Semver.maxSatisfying,
};
export default semver;
