import yaml from 'js-yaml';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { formatBool, formatString } from './_yaml.js';
import { validateEntries } from './_validate.js';

/** `signature.cosign` of an index entry: the keyless or key-based policy (spec §8, §14). */
export interface CosignSignature {
  'certificate-oidc-issuer': string;
  'certificate-oidc-issuer-regexp': string;
  'certificate-identity': string;
  'certificate-identity-regexp': string;
  'certificate-github-workflow': string;
  key: string;
  'ignore-tlog': boolean;
}

export interface IndexSignature {
  cosign?: CosignSignature;
}

export interface IndexMaintainer {
  email: string;
  name: string;
}

/** One entry of an index.yaml, fields in falcoctl's order (spec §8). */
export interface IndexEntry {
  name: string;
  type: string;
  registry: string;
  repository: string;
  signature?: IndexSignature;
  description: string;
  home: string;
  keywords: string[];
  license: string;
  maintainers: IndexMaintainer[];
  sources: string[];
}

export interface ParsedIndex {
  entries: IndexEntry[];
  /** Unknown keys and unexpected types (falcoctl ignores them), as `entries[i].field: …`. */
  warnings: string[];
  /** Problems that make the index unusable, as `entries[i].field: …` or `duplicate entry found: <name>`. */
  errors: string[];
}

/**
 * Parses index.yaml text without throwing (style practice 17). Scalars are read as text (js-yaml
 * failsafe schema) so `1.10` stays `1.10`, as yaml.v3 does when decoding into Go strings.
 * https://github.com/falcosecurity/falcoctl/blob/main/pkg/index/index/index.go (ReadBytes); spec §8.
 */
export function parseIndex(text: string): ParsedIndex {
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.FAILSAFE_SCHEMA });
  } catch (err) {
    return { entries: [], warnings: [], errors: [`cannot unmarshal index: ${(err as Error).message.split('\n')[0]}`] };
  }
  return validateEntries(doc);
}

/**
 * Parses index.yaml text and throws ERR_INVALID_INDEX listing every problem.
 * `source` (a URL or path) is quoted in the message.
 */
export function readIndex(text: string, source = 'index'): IndexEntry[] {
  const parsed = parseIndex(text);
  if (parsed.errors.length > 0) {
    throw new RulesctlError(ErrorCodes.INVALID_INDEX, `invalid index "${source}": ${parsed.errors.join('; ')}`, {
      hint: 'fix the index file, or remove it with "rulesctl index remove" and add it again',
      details: { errors: parsed.errors },
    });
  }
  return parsed.entries;
}

const COSIGN_KEYS = [
  'certificate-oidc-issuer', 'certificate-oidc-issuer-regexp', 'certificate-identity',
  'certificate-identity-regexp', 'certificate-github-workflow', 'key',
] as const;

function listLines(key: string, items: string[]): string[] {
  if (items.length === 0) return [`  ${key}: []`];
  return [`  ${key}:`, ...items.map((item) => `    - ${formatString(item)}`)];
}

function signatureLines(sig: IndexSignature): string[] {
  if (sig.cosign === undefined) return ['  signature: {}'];
  const c = sig.cosign;
  return [
    '  signature:',
    '    cosign:',
    ...COSIGN_KEYS.map((k) => `        ${k}: ${formatString(c[k])}`),
    `        ignore-tlog: ${formatBool(c['ignore-tlog'])}`,
  ];
}

function entryLines(e: IndexEntry): string[] {
  const lines = [
    `- name: ${formatString(e.name)}`,
    `  type: ${formatString(e.type)}`,
    `  registry: ${formatString(e.registry)}`,
    `  repository: ${formatString(e.repository)}`,
  ];
  if (e.signature !== undefined) lines.push(...signatureLines(e.signature));
  lines.push(`  description: ${formatString(e.description)}`, `  home: ${formatString(e.home)}`);
  lines.push(...listLines('keywords', e.keywords), `  license: ${formatString(e.license)}`);
  if (e.maintainers.length === 0) lines.push('  maintainers: []');
  else {
    lines.push('  maintainers:');
    for (const m of e.maintainers) lines.push(`    - email: ${formatString(m.email)}`, `      name: ${formatString(m.name)}`);
  }
  lines.push(...listLines('sources', e.sources));
  return lines;
}

/** Byte order of Go string comparison (UTF-8 bytes), which `sort.Slice` on names uses. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Serializes entries exactly as falcoctl's `Index.Write` (entries sorted by name, yaml.v3 `Marshal`
 * with indent 4). Does not mutate `entries`. An empty list is `[]\n`. Spec §8.
 */
export function serializeIndex(entries: readonly IndexEntry[]): string {
  if (entries.length === 0) return '[]\n';
  const sorted = [...entries].sort((a, b) => compareNames(a.name, b.name));
  return `${sorted.flatMap(entryLines).join('\n')}\n`;
}
