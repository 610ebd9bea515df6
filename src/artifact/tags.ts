import { majorMinor } from './semver.js';

/** falcoctl's default tag (falcoctl.md §5). */
export const DEFAULT_TAG = 'latest';

/**
 * `--add-floating-tags`: `<version>`, `<major>`, `<major>.<minor>`, in that order, to append after the
 * user's tags (`1.2.3` → `1.2.3`, `1`, `1.2`). Never `latest`; prereleases are not special-cased.
 * The version must be blang semver, else ERR_USAGE `expected semver for the flag "--version": …`.
 */
export function floatingTags(version: string): string[] {
  const { major, minor } = majorMinor(version);
  return [version, major, `${major}.${minor}`];
}

/**
 * Which tag the root is first PUT under, then which tags `TagN` applies (falcoctl pusher.go):
 * - the ref's own tag or digest when present, then all user tags;
 * - else the first user tag, then the whole list again when there is more than one;
 * - else `latest` alone.
 */
export function planTags(refReference: string | undefined, tags: readonly string[]): { first: string; then: string[] } {
  if (refReference) return { first: refReference, then: [...tags] };
  if (tags.length === 0) return { first: DEFAULT_TAG, then: [] };
  return { first: tags[0]!, then: tags.length > 1 ? [...tags] : [] };
}
