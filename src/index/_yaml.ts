/**
 * Scalar formatting that reproduces gopkg.in/yaml.v3 `Marshal` for Go strings and bools in block
 * context (indent 4, unicode on, no line wrapping). Used by the index and indexes.yaml writers so
 * their bytes equal falcoctl's. https://github.com/go-yaml/yaml/blob/v3/encode.go (stringv) and
 * emitterc.go (yaml_emitter_analyze_scalar, yaml_emitter_select_scalar_style).
 *
 * Not reproduced: strings containing a line break (yaml.v3 writes a `|-` literal block; we write a
 * double-quoted scalar, which reads back identically but differs in bytes).
 */

const SIMPLE = /^[A-Za-z](?:[A-Za-z0-9/._ -]*[A-Za-z0-9/._-])?$/;
const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const BOOLS = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
const OLD_BOOLS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const SPECIAL_FLOATS = new Set(['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF', '.nan', '.NaN', '.NAN']);
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
// Go strconv.ParseInt(s, 0, 64) after yaml.v3 removed underscores.
const GO_INT = /^[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/;
const BINARY_INT = /^[-+]?0b[01]+$/;
// yaml.v3 allowedTimestampFormats, with Go's lenient one-or-two digit fields.
const TIMESTAMP = /^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]| )\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d+)?(?:Z|[-+]\d{2}:\d{2})?)?$/;

/** True when yaml.v3's resolver would read the plain text as something other than a string. */
function resolvesToNonString(s: string): boolean {
  if (NULLS.has(s) || BOOLS.has(s) || SPECIAL_FLOATS.has(s) || s === '<<') return true;
  const first = s.charAt(0);
  if (!/[-+.0-9]/.test(first)) return false;
  const plain = s.replace(/_/g, '');
  if (GO_INT.test(plain) || BINARY_INT.test(plain) || YAML_FLOAT.test(plain)) return true;
  return /[0-9]/.test(first) && TIMESTAMP.test(s);
}

interface ScalarAnalysis {
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
}

const isBlankOrEnd = (c: string | undefined): boolean => c === undefined || c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** libyaml's analysis, restricted to what decides the style of a block-context value. */
function analyze(s: string): ScalarAnalysis {
  let blockIndicators = s.startsWith('---') || s.startsWith('...');
  let special = false;
  let lineBreaks = false;
  let spaceBreak = false;
  let previousSpace = false;
  let precededByWhitespace = true;
  const chars = Array.from(s);
  chars.forEach((c, i) => {
    const followedByWhitespace = isBlankOrEnd(chars[i + 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true;
      if ((c === '?' || c === ':' || c === '-') && followedByWhitespace) blockIndicators = true;
    } else {
      if (c === ':' && followedByWhitespace) blockIndicators = true;
      if (c === '#' && precededByWhitespace) blockIndicators = true;
    }
    const code = c.codePointAt(0)!;
    const printable = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0x7e) || code === 0x85 ||
      (code >= 0xa0 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd && code !== 0xfeff) || code >= 0x10000;
    if (!printable) special = true;
    if (c === '\n' || c === '\r') {
      lineBreaks = true;
      if (previousSpace) spaceBreak = true;
    }
    previousSpace = c === ' ';
    precededByWhitespace = isBlankOrEnd(c);
  });
  const leadingSpace = s.startsWith(' ') || s.startsWith('\t');
  const trailingSpace = s.endsWith(' ') || s.endsWith('\t');
  const blockPlainAllowed = !(leadingSpace || trailingSpace || lineBreaks || blockIndicators || special || spaceBreak);
  return { blockPlainAllowed, singleQuotedAllowed: !(special || spaceBreak || lineBreaks) };
}

const ESCAPES: Record<string, string> = {
  '\0': '\\0', '\x07': '\\a', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\x0b': '\\v', '\f': '\\f', '\r': '\\r',
  '\x1b': '\\e', '"': '\\"', '\\': '\\\\', '\x85': '\\N', '\xa0': '\\_', '\u2028': '\\L', '\u2029': '\\P',
};

function doubleQuoted(s: string): string {
  let out = '"';
  for (const c of s) {
    const code = c.codePointAt(0)!;
    if (ESCAPES[c] !== undefined) out += ESCAPES[c];
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0) || code === 0xfeff) out += `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += c;
  }
  return `${out}"`;
}

/** A Go string as yaml.v3 writes it as a mapping value or sequence item in block context. */
export function formatString(s: string): string {
  // Fast path: a letter then URL-ish characters is plain unless it is a reserved word.
  if (SIMPLE.test(s) && !NULLS.has(s) && !BOOLS.has(s) && !OLD_BOOLS.has(s)) return s;
  const mustQuote = resolvesToNonString(s) || BASE60_FLOAT.test(s) || OLD_BOOLS.has(s);
  const analysis = analyze(s);
  if (mustQuote || s.includes('\n') || s.includes('\r')) return doubleQuoted(s);
  if (analysis.blockPlainAllowed) return s;
  if (analysis.singleQuotedAllowed) return `'${s.replace(/'/g, "''")}'`;
  return doubleQuoted(s);
}

/** A Go bool as yaml.v3 writes it. */
export function formatBool(b: boolean): string {
  return b ? 'true' : 'false';
}
