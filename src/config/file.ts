import { readFile, stat } from 'node:fs/promises';
import yaml from 'js-yaml';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { SETTINGS, canonicalKey, definitionOf } from './definitions.js';
import type { SettingKey, SettingValues } from './definitions.js';
import { kindOf, show } from './parsers.js';

/** falcoctl's `--config` default (spec §6). */
export const DEFAULT_CONFIG_PATH = '/etc/falcoctl/falcoctl.yaml';

/** The settings a falcoctl.yaml sets, validated and typed; keys absent from the file are absent. */
export type WrittenConfig = Partial<SettingValues>;

export interface ConfigFileResult {
  config: WrittenConfig;
  /** Unknown keys and duplicates; the file is still usable. */
  warnings: string[];
  /** `<dotted key>: <problem>`; the CLI throws once on these. */
  errors: string[];
  /** False when the file does not exist (not an error). */
  exists: boolean;
}

const LOWER_KEYS = Object.keys(SETTINGS).map((k) => k.toLowerCase());
/** Top-level blocks falcoctl reads for commands rulesctl does not have: accepted silently. */
const IGNORED_BLOCKS = new Set(['driver']);

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates falcoctl.yaml text (spec §10, style practice 17). Keys are case-insensitive as in
 * viper. `null` values count as unset. Messages never quote the file's text around a YAML error,
 * since it may hold passwords.
 */
/** ` at line L, column C: <reason>` of a js-yaml error (never its message, which quotes the file), or ''. */
function yamlWhere(err: unknown): string {
  const e = err as { reason?: string; mark?: { line: number; column: number } };
  if (e.reason === undefined) return '';
  return `${e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : ''}: ${e.reason}`;
}

export function parseConfigText(text: string): ConfigFileResult {
  const out: ConfigFileResult = { config: {}, warnings: [], errors: [], exists: true };
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    out.errors.push(`invalid YAML${yamlWhere(err) || ': unreadable document'}`);
    return out;
  }
  if (doc === undefined || doc === null) return out;
  if (!isMapping(doc)) {
    out.errors.push(`expected a mapping at the top level, got ${Array.isArray(doc) ? 'a list' : show(doc)}`);
    return out;
  }
  walk(doc, '', out);
  return out;
}

function walk(node: Record<string, unknown>, prefix: string, out: ConfigFileResult): void {
  for (const [k, v] of Object.entries(node)) {
    const path = prefix === '' ? k : `${prefix}.${k}`;
    const lower = path.toLowerCase();
    const key = canonicalKey(lower);
    if (key !== undefined) {
      readSetting(key, path, v, out);
    } else if (prefix === '' && IGNORED_BLOCKS.has(lower)) {
      continue;
    } else if (LOWER_KEYS.some((known) => known.startsWith(`${lower}.`))) {
      if (isMapping(v)) walk(v, path, out);
      // Under registry.auth a value may be a credential (the env form written in the file): never shown.
      else if (v !== null) out.errors.push(`${path}: expected a mapping, got ${Array.isArray(v) || lower.startsWith('registry.auth') ? kindOf(v) : show(v)}`);
    } else {
      out.warnings.push(`${path}: unknown key, ignored`);
    }
  }
}

function readSetting(key: SettingKey, path: string, raw: unknown, out: ConfigFileResult): void {
  if (raw === null || raw === undefined) return;
  if (key in out.config) out.warnings.push(`${path}: set more than once (keys are case-insensitive); the last one wins`);
  const r = definitionOf(key).parse(raw, 'file');
  if (r.ok) (out.config as Record<string, unknown>)[key] = r.value;
  else out.errors.push(`${path}${r.error.startsWith('[') ? '' : ': '}${r.error}`);
}

/**
 * Reads and validates falcoctl.yaml. A missing file is not an error and, unlike falcoctl, is not
 * created: its defaults are the built-in ones (spec §10), so writing them would change nothing.
 * Unreadable files (permissions, a directory) throw `ERR_IO`.
 */
export async function readConfigFile(path: string, opts: { signal?: AbortSignal } = {}): Promise<ConfigFileResult> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', signal: opts.signal });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { config: {}, warnings: [], errors: [], exists: false };
    throw new RulesctlError(ErrorCodes.IO, `unable to read config file "${path}": ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  return parseConfigText(text);
}

/**
 * Sets one key in falcoctl.yaml and rewrites it atomically (temp + rename), keeping every other
 * key, unknown ones included (for `index add/remove`, `registry auth gcp`). The key lands at the
 * spelling already in the file, else falcoctl's. Comments are lost, as with falcoctl. `value` is
 * written as given (the file form, e.g. `[{name, url, backend}]`). A missing file is created
 * (dir 0700, as falcoctl does); an existing file keeps its mode.
 */
export async function updateConfigFile(path: string, key: SettingKey, value: unknown, opts: { signal?: AbortSignal } = {}): Promise<void> {
  let doc: Record<string, unknown> = {};
  let mode = 0o644;
  try {
    const text = await readFile(path, { encoding: 'utf8', signal: opts.signal });
    mode = (await stat(path)).mode & 0o777;
    const loaded: unknown = yaml.load(text);
    if (loaded !== null && loaded !== undefined && !isMapping(loaded)) throw new Error('not a mapping');
    doc = (loaded as Record<string, unknown> | null | undefined) ?? {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      // Not the parser's error as a cause: js-yaml's message quotes the lines around the mistake,
      // which may hold credentials (`Caused by:` is printed at debug level).
      throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `unable to update config file "${path}": it is not a readable YAML mapping${yamlWhere(err)}`, {
        hint: 'fix the file (see `rulesctl config`) and retry',
      });
    }
  }
  setAtPath(doc, key.split('.'), value);
  const text = yaml.dump(doc, { lineWidth: -1, noRefs: true });
  await writeFileAtomic(path, text, { mode, dirMode: 0o700, signal: opts.signal });
}

function setAtPath(doc: Record<string, unknown>, segments: string[], value: unknown): void {
  let node = doc;
  for (const [i, seg] of segments.entries()) {
    const existing = Object.keys(node).find((k) => k.toLowerCase() === seg.toLowerCase()) ?? seg;
    if (i === segments.length - 1) {
      node[existing] = value;
      return;
    }
    const child = node[existing];
    if (!isMapping(child)) node[existing] = {};
    node = node[existing] as Record<string, unknown>;
  }
}
