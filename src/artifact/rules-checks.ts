import { checkExceptions } from './rules-exceptions.js';

/**
 * Per-item checks of a Falco rules file (falco-rules.md §2-6, §10 rows 3-18): each returns problems
 * as `{severity, reason}`; the caller adds file and line. Texts are Falco's where Falco has one.
 */
export interface ItemProblem {
  severity: 'error' | 'warning';
  reason: string;
}

type Item = Record<string, unknown>;

const KINDS = ['required_engine_version', 'required_plugin_versions', 'list', 'macro', 'rule'] as const;
export type ItemKind = (typeof KINDS)[number];

const ALLOWED_KEYS: Record<ItemKind, readonly string[]> = {
  required_engine_version: ['required_engine_version'],
  required_plugin_versions: ['required_plugin_versions'],
  list: ['list', 'items', 'append', 'override'],
  macro: ['macro', 'condition', 'append', 'override'],
  rule: ['rule', 'condition', 'output', 'desc', 'priority', 'source', 'enabled', 'capture', 'capture_duration', 'warn_evttypes', 'skip-if-unknown-filter', 'tags', 'exceptions', 'override', 'append'],
};
const OVERRIDES: Record<'list' | 'macro' | 'rule', { append: readonly string[]; replace: readonly string[] }> = {
  list: { append: ['items'], replace: ['items'] },
  macro: { append: ['condition'], replace: ['condition'] },
  rule: {
    append: ['condition', 'output', 'desc', 'tags', 'exceptions'],
    replace: ['condition', 'output', 'desc', 'priority', 'tags', 'exceptions', 'enabled', 'warn_evttypes', 'skip-if-unknown-filter', 'capture', 'capture_duration'],
  },
};
const PRIORITIES = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'informational', 'info', 'debug'];
const BOOL_WORDS = ['y', 'n', 'yes', 'no', 'true', 'false', 'on', 'off'];
const LIST_NAME = /^[^()"'\s=,]+$/;
const MACRO_NAME = /^[a-zA-Z]+[a-zA-Z0-9_]*$/;
const XYZ = /^\d+\.\d+\.\d+/;

/** The item's kind: the first kind key present in Falco's order, or undefined (unknown item). */
export function itemKind(item: Item): ItemKind | undefined {
  return KINDS.find((k) => k in item);
}

/** All problems of one top-level item. */
export function checkItem(item: Item): ItemProblem[] {
  const kind = itemKind(item);
  if (!kind) return [{ severity: 'warning', reason: 'Unknown top level item' }];
  const out: ItemProblem[] = Object.keys(item)
    .filter((k) => !ALLOWED_KEYS[kind].includes(k))
    .map((k) => ({ severity: 'warning' as const, reason: `Unknown key '${k}'. The key will be ignored.` }));
  const err = (reason: string): void => void out.push({ severity: 'error', reason });
  switch (kind) {
    case 'required_engine_version':
      checkEngineVersion(item.required_engine_version, err);
      break;
    case 'required_plugin_versions':
      checkPluginVersions(item.required_plugin_versions, err);
      break;
    default:
      out.push(...checkDefinition(kind, item));
  }
  return out;
}

function checkDefinition(kind: 'list' | 'macro' | 'rule', item: Item): ItemProblem[] {
  const out: ItemProblem[] = [];
  const err = (reason: string): void => void out.push({ severity: 'error', reason });
  const name = requiredScalar(item, kind, err);
  if (kind === 'list' && typeof name === 'string' && !LIST_NAME.test(name)) {
    out.push({ severity: 'warning', reason: `List has an invalid name. List names should match a regular expression: ([^()"'[:space:]=,]+)` });
  }
  if (kind === 'macro' && typeof name === 'string' && !MACRO_NAME.test(name)) {
    out.push({ severity: 'warning', reason: 'Macro has an invalid name. Macro names should match a regular expression: ([a-zA-Z]+[a-zA-Z0-9_]*)' });
  }
  const append = optionalBool(item, 'append', err) === true;
  const ops = overrideOps(kind, item.override, err);
  if (append && ops.size > 0) {
    err("Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.");
    return out;
  }
  if (append) out.push({ severity: 'warning', reason: "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead." });
  if (kind === 'list') checkSequence(item, 'items', true, err);
  if (kind === 'macro') requiredScalar(item, 'condition', err);
  if (kind === 'rule') out.push(...checkRule(item, append, ops));
  return out;
}

function checkRule(item: Item, append: boolean, ops: Map<string, string>): ItemProblem[] {
  const out: ItemProblem[] = [];
  const err = (reason: string): void => void out.push({ severity: 'error', reason });
  if (ops.size > 0) {
    for (const key of OVERRIDES.rule.replace) {
      if (key in item && !ops.has(key)) err(`Unexpected key '${key}': no corresponding entry under 'override' is defined.`);
    }
    for (const [key, op] of ops) if (op && !(key in item)) err(`An ${op} override for '${key}' was specified but '${key}' is not defined`);
  } else if (append) {
    if (!('condition' in item) && !('exceptions' in item)) err('Appended rule must have exceptions or condition property');
    return out;
  } else if (!['condition', 'output', 'desc', 'priority'].some((k) => k in item)) {
    if (!('enabled' in item)) err("Item has no mapping for key 'enabled'");
    out.push({ severity: 'warning', reason: "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace')." });
  } else {
    for (const key of ['condition', 'desc', 'output', 'priority']) requiredScalar(item, key, err);
  }
  const priority = item.priority;
  if (typeof priority === 'string' && priority !== '' && !PRIORITIES.includes(priority.toLowerCase())) err('Invalid priority');
  for (const key of ['enabled', 'warn_evttypes', 'skip-if-unknown-filter', 'capture']) optionalBool(item, key, err);
  if ('capture_duration' in item && !isUint32(item.capture_duration)) err("Can't decode YAML scalar value");
  if ('source' in item && !(ops.size > 0 || append) ) requiredScalar(item, 'source', err);
  if ('tags' in item) checkSequence(item, 'tags', false, err);
  if ('exceptions' in item) {
    const defining = ops.size === 0 && !append;
    checkExceptions(item.exceptions, defining, (severity, reason) => void out.push({ severity, reason }));
  }
  return out;
}

/**
 * `override` as key → operation, reporting disallowed keys and operations. Keys named with an invalid
 * operation map to `''`, so the item is still read in override mode (no cascade of missing keys).
 */
function overrideOps(kind: 'list' | 'macro' | 'rule', override: unknown, err: (r: string) => void): Map<string, string> {
  const ops = new Map<string, string>();
  if (typeof override !== 'object' || override === null) return ops;
  if (Array.isArray(override)) {
    err("Value of 'override' must be a mapping");
    return ops;
  }
  const allowed = OVERRIDES[kind];
  for (const [key, op] of Object.entries(override)) {
    ops.set(key, '');
    if (op === 'append' && !allowed.append.includes(key)) err(`Key '${key}' cannot be appended to, use 'replace' instead`);
    else if (op === 'replace' && !allowed.replace.includes(key)) err(`Key '${key}' cannot be replaced`);
    else if (op !== 'append' && op !== 'replace') {
      const words = [allowed.append.includes(key) ? 'append ' : '', allowed.replace.includes(key) ? 'replace ' : ''].join('');
      err(`Invalid override operation for key '${key}': '${String(op)}'. Allowed values are: ${words}`);
    } else ops.set(key, op);
  }
  return ops;
}

function checkEngineVersion(v: unknown, err: (r: string) => void): void {
  if (v === null || v === undefined) return err("Mapping for key 'required_engine_version' is empty");
  if (isUint32(v)) return;
  if (typeof v !== 'string' || !XYZ.test(v)) {
    err(`Unable to parse engine version '${String(v)}' as a semver string. Expected "x.y.z" semver format.`);
  }
}

function checkPluginVersions(v: unknown, err: (r: string) => void): void {
  if (!Array.isArray(v)) return err('Value of required_plugin_versions must be a sequence');
  for (const entry of v) {
    if (!isMapping(entry)) return err('Plugin version must be a mapping');
    const names = new Set<string>();
    const check = (e: Item): void => {
      const name = requiredScalar(e, 'name', err);
      const version = requiredScalar(e, 'version', err);
      if (typeof version === 'string' && version !== '' && !XYZ.test(version)) err(`Invalid required version '${version}' for plugin '${String(name)}'`);
      if (typeof name === 'string' && names.has(name)) err(`Defined multiple alternative version requirements for plugin '${name}'`);
      if (typeof name === 'string') names.add(name);
    };
    check(entry);
    const alts = entry.alternatives;
    if (alts === undefined) continue;
    if (!Array.isArray(alts)) return err('Value of plugin version alternatives must be a sequence');
    for (const alt of alts) {
      if (!isMapping(alt)) return err('Plugin version alternative must be a mapping');
      check(alt);
    }
  }
}

/** Falco's required-scalar checks, in order; returns the value as text when it passes. */
function requiredScalar(item: Item, key: string, err: (r: string) => void): string | undefined {
  if (!(key in item)) return void err(`Item has no mapping for key '${key}'`);
  const v = item[key];
  if (v === null || v === undefined) return void err(`Mapping for key '${key}' is empty`);
  if (typeof v === 'object' && !(v instanceof Date)) return void err('Value is not a scalar value');
  const text = v instanceof Date ? v.toISOString() : String(v);
  if (text === '') return void err('Value must be non-empty');
  return text;
}

function checkSequence(item: Item, key: string, required: boolean, err: (r: string) => void): void {
  if (!(key in item)) return required ? err(`Item has no mapping for key '${key}'`) : undefined;
  const v = item[key];
  if (!Array.isArray(v)) return err('Value is not a sequence');
  if (v.some((e) => e !== null && typeof e === 'object' && !(e instanceof Date))) err('sequence value is not scalar');
}

function optionalBool(item: Item, key: string, err: (r: string) => void): boolean | undefined {
  if (!(key in item)) return undefined;
  const v = item[key];
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && BOOL_WORDS.some((w) => [w, w.toUpperCase(), w[0]!.toUpperCase() + w.slice(1)].includes(v))) {
    return ['y', 'yes', 'true', 'on'].includes(v.toLowerCase());
  }
  if (v === null) err(`Mapping for key '${key}' is empty`);
  else err("Can't decode YAML scalar value");
  return undefined;
}

function isUint32(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function isMapping(v: unknown): v is Item {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}
