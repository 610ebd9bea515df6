import { ErrorCodes, RulesctlError } from '../errors.js';
import type { IndexEntry } from './index-file.js';
import type { MergedIndex } from './merged.js';

/** falcoctl's `--min-score` default. */
export const DEFAULT_MIN_SCORE = 0.65;

export interface SearchOptions {
  /** In (0, 1]; default 0.65. */
  minScore?: number;
  /** Keep only entries of this type (`--type`). */
  type?: string;
}

export interface SearchResult {
  entry: IndexEntry;
  /** Name of the index the entry came from (the INDEX column). */
  index: string;
  /** Best name score over all keywords (0 when no keyword scored). */
  score: number;
  /** True when a keyword is a substring of the entry's space-joined keywords. */
  keywordMatch: boolean;
}

const encoder = new TextEncoder();
const ASCII = /^[\x00-\x7f]*$/;

/** Lowercased UTF-8 bytes, as a string of byte values (one char per byte) for fast comparison. */
function lowerBytes(s: string): string {
  const lower = s.toLowerCase();
  return ASCII.test(lower) ? lower : String.fromCharCode(...encoder.encode(lower));
}

/** Byte-wise Levenshtein distance (Go indexes strings by byte); inputs come from lowerBytes. */
function levenshtein(a: string, b: string, row: Uint32Array): number {
  for (let j = 0; j <= b.length; j++) row[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = ai === b.charCodeAt(j - 1) ? diagonal : Math.min(diagonal, above, row[j - 1]!) + 1;
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * falcoctl's name score: `(L - levenshtein(lower(name), lower(kw))) / L`, L = byte length of the
 * longer (unlowered) string. Two empty strings give NaN, which never matches. Spec §8 "Search".
 */
export function scoreName(name: string, keyword: string): number {
  const a = lowerBytes(name);
  const b = lowerBytes(keyword);
  const longer = Math.max(Buffer.byteLength(name), Buffer.byteLength(keyword));
  return (longer - levenshtein(a, b, new Uint32Array(b.length + 1))) / longer;
}

export function validateMinScore(minScore: number): void {
  if (!(minScore > 0 && minScore <= 1)) {
    throw new RulesctlError(ErrorCodes.USAGE, `minScore must be a number within (0,1]: got ${minScore}`, {
      hint: 'pass --min-score with a value such as 0.65',
    });
  }
}

/**
 * `artifact search`: an entry matches when, for any keyword, its name score is >= minScore or the
 * keyword is a case-sensitive substring of its keywords joined by spaces; `type` filters. Results
 * are ordered by score (descending), then name (falcoctl's order is random: a Go map). Spec §8.
 */
export function searchIndex(index: MergedIndex, keywords: readonly string[], opts: SearchOptions = {}): SearchResult[] {
  const minScore = opts.minScore ?? DEFAULT_MIN_SCORE;
  validateMinScore(minScore);
  const kws = keywords.map((k) => ({ text: k, lower: lowerBytes(k), bytes: Buffer.byteLength(k) }));
  const row = new Uint32Array(Math.max(1, ...kws.map((k) => k.lower.length)) + 1);
  const results: SearchResult[] = [];
  for (const entry of index.entries) {
    if (opts.type !== undefined && opts.type !== '' && entry.type !== opts.type) continue;
    const name = lowerBytes(entry.name);
    const nameBytes = ASCII.test(entry.name) ? entry.name.length : Buffer.byteLength(entry.name);
    const joined = entry.keywords.join(' ');
    const keywordMatch = kws.some((kw) => joined.includes(kw.text));
    // levenshtein >= the length difference, so some entries cannot reach minScore by name.
    const reachable = (kw: (typeof kws)[number]) => {
      const longer = Math.max(nameBytes, kw.bytes);
      return (longer - Math.abs(name.length - kw.lower.length)) / longer >= minScore;
    };
    if (!keywordMatch && !kws.some(reachable)) continue;
    let score = 0;
    for (const kw of kws) {
      const longer = Math.max(nameBytes, kw.bytes);
      const s = (longer - levenshtein(name, kw.lower, row)) / longer;
      if (s > score) score = s;
    }
    if (score >= minScore || keywordMatch) results.push({ entry, index: index.sourceOf.get(entry.name) ?? '', score, keywordMatch });
  }
  return results.sort((x, y) => y.score - x.score || (x.entry.name < y.entry.name ? -1 : x.entry.name > y.entry.name ? 1 : 0));
}
