import Range from 'semver/classes/range.js';
import compare from 'semver/functions/compare.js';
import gt from 'semver/functions/gt.js';
import major from 'semver/functions/major.js';
import rcompare from 'semver/functions/rcompare.js';
import satisfies from 'semver/functions/satisfies.js';
import valid from 'semver/functions/valid.js';
import maxSatisfying from 'semver/ranges/max-satisfying.js';
import validRange from 'semver/ranges/valid.js';

/**
 * The semver functions rulesctl uses, imported one by one: the package index loads all ~50 of its
 * modules (ranges algebra, coercion, subset…), about 15 ms of every CLI start-up that resolves.
 */
const semver = { Range, valid, compare, rcompare, major, gt, satisfies, validRange, maxSatisfying };
export default semver;
