import yaml from 'js-yaml';
import { ErrorCodes, RulesctlError } from '../errors.js';

export interface NameDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface RulesDiff {
  rules: NameDiff;
  macros: NameDiff;
  lists: NameDiff;
}

type DefinitionKind = 'rule' | 'macro' | 'list';

/**
 * Added, removed and changed rules, macros and lists between two rules files, by name (for the follow
 * log and `artifact diff`). Every item naming the same thing (definition, append, override) counts: a
 * name is changed when the sequence of its items differs, key order ignored. Names are sorted.
 * Throws ERR_INVALID_RULES when either text is not YAML.
 */
export function diffRules(oldYaml: string, newYaml: string): RulesDiff {
  const before = definitions(oldYaml, 'old');
  const after = definitions(newYaml, 'new');
  const diff = (kind: DefinitionKind): NameDiff => {
    const a = before[kind];
    const b = after[kind];
    return {
      added: [...b.keys()].filter((n) => !a.has(n)).sort(),
      removed: [...a.keys()].filter((n) => !b.has(n)).sort(),
      changed: [...b.keys()].filter((n) => a.has(n) && a.get(n) !== b.get(n)).sort(),
    };
  };
  return { rules: diff('rule'), macros: diff('macro'), lists: diff('list') };
}

/** True when nothing was added, removed or changed. */
export function isEmptyDiff(d: RulesDiff): boolean {
  return [d.rules, d.macros, d.lists].every((x) => x.added.length + x.removed.length + x.changed.length === 0);
}

function definitions(text: string, which: string): Record<DefinitionKind, Map<string, string>> {
  const out: Record<DefinitionKind, Map<string, string>> = { rule: new Map(), macro: new Map(), list: new Map() };
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text, null, { json: true });
  } catch (err) {
    throw new RulesctlError(ErrorCodes.INVALID_RULES, `cannot diff: the ${which} rules file is not valid YAML: ${(err as Error).message}`);
  }
  for (const doc of docs) {
    if (!Array.isArray(doc)) continue;
    for (const item of doc) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
      const kind = (['list', 'macro', 'rule'] as const).find((k) => k in item);
      if (kind === undefined || ('required_engine_version' in item) || ('required_plugin_versions' in item)) continue;
      const name = String((item as Record<string, unknown>)[kind]);
      const map = out[kind];
      map.set(name, `${map.get(name) ?? ''}${canonical(item)}\n`);
    }
  }
  return out;
}

/** JSON with object keys sorted, so key order does not count as a change. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
