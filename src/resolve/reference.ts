import semver from './_semver.js';
import { ErrorCodes, RulesctlError, isRulesctlError } from '../errors.js';
import type { IndexEntry } from '../index/index-file.js';
import type { MergedIndex } from '../index/merged.js';
import { isDigest } from '../oci/descriptor.js';
import { isValidTag, parseReference, type Reference } from '../oci/reference.js';

/** falcoctl's default tag (spec §5). */
export const DEFAULT_TAG = 'latest';

export interface ResolvedReference {
  /** What the user typed. */
  input: string;
  /** `registry/repository:tag` or `registry/repository@digest`. */
  ref: string;
  reference: Reference;
  /** `full`: parsed as an OCI ref, no index consulted; `index`: looked up by entry name. */
  source: 'full' | 'index';
  entry?: IndexEntry;
  /** Set when the tag was a semver range resolved against the tag list. */
  range?: { expression: string; tag: string };
}

export interface ResolveReferenceOptions {
  /** The merged index, or a loader called only when an index name must be looked up. */
  index?: MergedIndex | (() => Promise<MergedIndex>);
  /** Tags of `registry/repository` (needed for ranges; enables the partial-version fallback). */
  listTags?: (repository: string, opts: { signal?: AbortSignal }) => Promise<string[]>;
  signal?: AbortSignal;
}

/** `5`, `0.5`, `3.x`, `3.1.*`: a tag that may be a floating tag or an x-range. */
const PARTIAL_VERSION = /^(0|[1-9]\d*)(\.(0|[1-9]\d*|[xX*]))?(\.[xX*])?$/;

// An empty tag or one with control characters is no range (semver reads '' as '*'): such refs
// fail as invalid references instead of listing tags.
const isRange = (tag: string) => tag.trim() !== '' && !/[\x00-\x1f\x7f]/.test(tag) && !isValidTag(tag) && semver.validRange(tag) !== null;

function splitIndexName(input: string): { name: string; tag?: string; digest?: string } {
  const at = input.indexOf('@');
  if (at >= 0) return { name: input.slice(0, at).split(':')[0]!, digest: input.slice(at + 1) };
  const colon = input.indexOf(':');
  if (colon >= 0) return { name: input.slice(0, colon), tag: input.slice(colon + 1) };
  return { name: input };
}

/** Splits `host/repo:<range>` whose tag is not a valid OCI tag but a semver range. */
function splitRangeRef(input: string): { base: Reference; range: string } | undefined {
  const slash = input.indexOf('/');
  const colon = input.indexOf(':', slash);
  if (slash <= 0 || colon < 0 || input.includes('@')) return undefined;
  const range = input.slice(colon + 1);
  if (!isRange(range)) return undefined;
  return { base: parseReference(input.slice(0, colon)), range };
}

/** Highest strict-semver tag satisfying `range` (prereleases only when the range names one). */
export function highestMatchingTag(tags: readonly string[], range: string): string | undefined {
  const versions = tags.filter((t) => semver.valid(t) === t);
  return semver.maxSatisfying(versions, range) ?? undefined;
}

async function applyRange(ref: Reference, range: string, opts: ResolveReferenceOptions, input: string): Promise<string> {
  if (opts.listTags === undefined) {
    throw new RulesctlError(ErrorCodes.USAGE, `"${input}" uses the version range "${range}", which needs the registry's tag list`, {
      hint: 'use an exact tag, or run a command that can reach the registry',
    });
  }
  const tags = await opts.listTags(`${ref.registry}/${ref.repository}`, { signal: opts.signal });
  const tag = highestMatchingTag(tags, range);
  if (tag === undefined) {
    const versions = tags.filter((t) => semver.valid(t) === t).sort(semver.compare);
    throw new RulesctlError(ErrorCodes.NOT_FOUND, `no tag of ${ref.registry}/${ref.repository} satisfies "${range}" (versions: ${versions.join(', ') || 'none'})`, {
      hint: 'widen the range, or list the tags with "rulesctl artifact info"',
    });
  }
  return tag;
}

/**
 * Decides the tag: a valid OCI tag is literal; a non-tag semver range (`~3.1`, `>=3 <4`, `^0.8.0`)
 * takes the highest matching version tag; a partial version (`5`, `0.5`, `3.x`) stays literal
 * unless `listTags` is given, the tag is absent and the range reading matches.
 */
async function finishTag(ref: Reference, opts: ResolveReferenceOptions, input: string): Promise<ResolvedReference['range']> {
  const tag = ref.tag;
  if (ref.digest !== undefined || tag === undefined) return undefined;
  if (isRange(tag)) {
    ref.tag = await applyRange(ref, tag, opts, input);
    return { expression: tag, tag: ref.tag };
  }
  if (!PARTIAL_VERSION.test(tag) || opts.listTags === undefined) return undefined;
  // The literal tag is falcoctl's reading: if the tag list is unavailable, keep it.
  const tags = await opts.listTags(`${ref.registry}/${ref.repository}`, { signal: opts.signal }).catch((err: unknown) => {
    if (opts.signal?.aborted === true) throw err;
    return undefined;
  });
  if (tags === undefined || tags.includes(tag)) return undefined;
  const match = highestMatchingTag(tags, tag);
  if (match === undefined) return undefined;
  ref.tag = match;
  return { expression: tag, tag: match };
}

const format = (r: Reference) => `${r.registry}/${r.repository}${r.digest !== undefined ? `@${r.digest}` : `:${r.tag ?? DEFAULT_TAG}`}`;

const badPart = (input: string, why: string) =>
  new RulesctlError(ErrorCodes.INVALID_REFERENCE, `invalid reference "${input}": ${why}`, {
    hint: 'use <name>, <name>:<tag>, <name>:<semver range> or <name>@sha256:<hex>',
  });

async function lookUp(input: string, opts: ResolveReferenceOptions): Promise<{ reference: Reference; entry: IndexEntry }> {
  const { name, tag, digest } = splitIndexName(input);
  const index = typeof opts.index === 'function' ? await opts.index() : opts.index;
  const entry = index?.byName.get(name);
  if (entry === undefined) {
    throw new RulesctlError(ErrorCodes.UNKNOWN_ARTIFACT, `cannot find ${input} among the configured indexes`, {
      hint: `look for it with "rulesctl artifact search ${name}", or add the index that has it with "rulesctl index add <name> <url>"`,
      details: { name },
    });
  }
  const reference: Reference = { registry: entry.registry, repository: entry.repository };
  if (digest !== undefined && !isDigest(digest)) throw badPart(input, `"${digest}" is not a valid digest`);
  if (tag !== undefined && tag !== '' && !isValidTag(tag) && !isRange(tag)) throw badPart(input, `"${tag}" is neither a tag nor a semver range`);
  if (digest !== undefined) reference.digest = digest;
  else reference.tag = tag === undefined || tag === '' ? DEFAULT_TAG : tag;
  return { reference, entry };
}

/**
 * Resolves what a user typed to a full reference (spec §7): a parseable OCI ref (`host/repo[:tag|
 * @digest]`, the part before the first `/` is the registry) never touches the index and gets
 * `:latest` when it has neither tag nor digest; otherwise `name`, `name:tag`, `name@digest` are
 * looked up in the merged index (`cannot find <input> among the configured indexes`). Beyond
 * falcoctl, a tag that is a semver range picks the highest matching version tag (see finishTag).
 */
export async function resolveReference(input: string, opts: ResolveReferenceOptions = {}): Promise<ResolvedReference> {
  if (input.includes('/')) {
    let reference: Reference;
    try {
      reference = parseReference(input);
    } catch (err) {
      const split = isRulesctlError(err, ErrorCodes.INVALID_REFERENCE) ? splitRangeRef(input) : undefined;
      if (split === undefined) throw err;
      reference = { ...split.base, tag: split.range };
    }
    if (reference.digest !== undefined) delete reference.tag;
    const range = await finishTag(reference, opts, input);
    return { input, ref: format(reference), reference, source: 'full', ...(range ? { range } : {}) };
  }
  const { reference, entry } = await lookUp(input, opts);
  const range = await finishTag(reference, opts, input);
  return { input, ref: format(reference), reference, source: 'index', entry, ...(range ? { range } : {}) };
}
