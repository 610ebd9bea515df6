/**
 * A Go `encoding/json.Marshal`-compatible encoder for the documents falcoctl writes (config, manifest,
 * index; falcoctl.md §1 "JSON encoding"): compact, no trailing newline, HTML characters and U+2028/U+2029
 * escaped. Objects are written in insertion order, like Go struct fields; use {@link sortedMap} for
 * values that Go holds in a `map` (annotations): a `Map` is written with its keys sorted by bytes, as
 * Go does (a plain object cannot be used: JS reorders integer-like keys). Properties whose value is
 * `undefined` are skipped, so callers express `omitempty` by leaving them out.
 */
export type GoJsonValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | GoJsonValue[]
  | Map<string, GoJsonValue>
  | { [key: string]: GoJsonValue };

const HEX = '0123456789abcdef';
const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function unicodeEscape(code: number): string {
  return `\\u${HEX[(code >> 12) & 15]}${HEX[(code >> 8) & 15]}${HEX[(code >> 4) & 15]}${HEX[code & 15]}`;
}

/** Go's `encodeState.string` with HTML escaping on (json.Marshal's default). */
export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const code = s.charCodeAt(i);
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    else if (code < 0x20 || ch === '<' || ch === '>' || ch === '&' || code === 0x2028 || code === 0x2029) out += unicodeEscape(code);
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      out += ch + s[i + 1]!;
      i++;
    } else if (code >= 0xd800 && code <= 0xdfff) out += '\ufffd'; // lone surrogate: Go writes U+FFFD for invalid UTF-8
    else out += ch;
  }
  return `${out}"`;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Encodes `value` as json.Marshal would encode the equivalent Go struct/map/slice. */
export function goJson(value: GoJsonValue): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return goJsonString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`goJson: only safe integers are supported, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  const entries = value instanceof Map ? [...value.entries()].sort(([a], [b]) => compareBytes(a, b)) : Object.entries(value);
  const parts: string[] = [];
  for (const [k, v] of entries) {
    if (v !== undefined) parts.push(`${goJsonString(k)}:${goJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Compares strings by UTF-8 bytes, as Go's sort of map keys does. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A Go `map[string]string` with `omitempty`: `undefined` for an absent or empty record. */
export function goMap(record: Record<string, string> | undefined): Map<string, string> | undefined {
  if (!record) return undefined;
  const entries = Object.entries(record);
  return entries.length === 0 ? undefined : new Map(entries);
}

/** UTF-8 bytes of {@link goJson}. */
export function goJsonBytes(value: GoJsonValue): Buffer {
  return Buffer.from(goJson(value), 'utf8');
}
