import { parseGoDuration } from './duration.js';

/**
 * Value parsers for settings (spec §10). A parser takes what one layer gave (a YAML value from
 * the file, a string from the environment, a string or string list from the command line) and
 * returns the typed value or a secret-free problem. The caller prefixes file problems with the
 * dotted key; env problems keep falcoctl's wording.
 */
export type Origin = 'flag' | 'env' | 'file';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

export type Parser<T> = (raw: unknown, origin: Origin) => ParseResult<T>;

/** falcoctl's list regexps (internal/config/config.go). */
export const SEMICOLON_LIST = /^([^;]+)(;[^;]+)*$/;
export const COMMA_LIST = /^([^,]+)(,[^,]+)*$/;

export const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
export const fail = <T = never>(error: string): ParseResult<T> => ({ ok: false, error });

/** Renders a raw value for a message: strings quoted, others as JSON. Never used on secrets. */
export function show(raw: unknown): string {
  if (raw === undefined) return 'nothing';
  if (typeof raw === 'string') return JSON.stringify(raw);
  try {
    return JSON.stringify(raw) ?? String(raw);
  } catch {
    return String(raw);
  }
}

/** What `raw` is, without its value: for values that may hold a secret. */
export function kindOf(raw: unknown): string {
  if (raw === null || raw === undefined) return 'nothing';
  if (Array.isArray(raw)) return 'a list';
  return typeof raw === 'object' ? 'a mapping' : `a ${typeof raw}`;
}

/** falcoctl's env error text: `env variable not correctly set, should match "<re>", got "<v>"`. */
export function envMismatch(re: RegExp, got: string): string {
  return `env variable not correctly set, should match ${JSON.stringify(re.source)}, got ${JSON.stringify(got)}`;
}

export const string: Parser<string> = (raw) => {
  if (typeof raw === 'string') return ok(raw);
  // viper's GetString stringifies scalars (`statedir: 5` reads as "5").
  if (typeof raw === 'number' || typeof raw === 'boolean') return ok(String(raw));
  return fail(`expected a string, got ${show(raw)}`);
};

export const path: Parser<string> = (raw, origin) => {
  const r = string(raw, origin);
  if (r.ok && r.value.trim() === '' && origin !== 'file') return fail('expected a path, got ""');
  return r;
};

export const duration: Parser<number> = (raw) => {
  if (typeof raw === 'string') {
    const ms = parseGoDuration(raw);
    if (ms !== undefined && ms >= 0) return ok(ms);
  }
  return fail(`expected a duration like "6h", got ${show(raw)}`);
};

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Booleans as Go's strconv.ParseBool reads them (viper GetBool). */
export const boolean: Parser<boolean> = (raw) => {
  if (typeof raw === 'boolean') return ok(raw);
  if (typeof raw === 'string' && TRUE.has(raw.trim())) return ok(true);
  if (typeof raw === 'string' && FALSE.has(raw.trim())) return ok(false);
  return fail(`expected true or false, got ${show(raw)}`);
};

export function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => {
    if (typeof raw === 'string' && (values as readonly string[]).includes(raw)) return ok(raw as T);
    return fail(`expected one of (${values.join(', ')}), got ${show(raw)}`);
  };
}

export const httpUrl: Parser<string> = (raw, origin) => {
  const r = string(raw, origin);
  if (!r.ok || r.value === '') return r;
  try {
    const u = new URL(r.value);
    if (u.protocol === 'http:' || u.protocol === 'https:') return r;
  } catch {
    /* reported below */
  }
  return fail(`expected an http(s) URL, got ${show(raw)}`);
};

/** A list given as a YAML sequence of strings, or as one string split by `re`/`sep`. */
export function stringList(re: RegExp, sep: string, what = 'string'): Parser<string[]> {
  return (raw, origin) => {
    let items: unknown[];
    if (typeof raw === 'string') {
      // viper's GetStringSlice splits env strings on whitespace before falcoctl looks at them.
      items = origin === 'env' ? raw.split(/\s+/).filter((s) => s !== '') : [raw];
    } else if (Array.isArray(raw)) {
      items = origin === 'flag' ? raw.flatMap((v) => (typeof v === 'string' ? v.split(sep) : [v])) : raw;
    } else {
      return fail(`expected a list of ${what}s, got ${show(raw)}`);
    }
    if (!items.every((v): v is string => typeof v === 'string')) {
      return fail(`expected a list of ${what}s, got ${show(raw)}`);
    }
    if (items.length !== 1) return ok(items);
    const only = items[0] as string;
    if (!re.test(only)) {
      return fail(origin === 'file' ? `expected ${what}s separated by "${sep}", got ${show(only)}` : envMismatch(re, only));
    }
    return ok(only.split(sep));
  };
}
