import yaml from 'js-yaml';
import { checkItem, itemKind, type ItemKind } from './rules-checks.js';

/** One finding, located at the item it concerns (1-based line). */
export interface RulesProblem {
  file: string;
  line: number | undefined;
  severity: 'error' | 'warning';
  reason: string;
  /** `rule 'Name'`, `macro 'm'`, … when the item has a name. */
  item?: string;
}

/**
 * Statically validates a Falco rules file (falco-rules.md §10: YAML syntax, document and item shape,
 * item kinds, unknown keys, required keys per rule mode, scalar/bool/sequence types, priorities, name
 * patterns, engine/plugin version formats, append/override rules, exception shapes). Cross-file checks,
 * condition syntax and field names need Falco and are not attempted. Never throws on bad input: a YAML
 * syntax error is one problem. Errors make Falco reject the file; warnings do not.
 */
export function validateRules(text: string, file: string): RulesProblem[] {
  const lines = new Map<object, number>();
  const stack: number[] = [];
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text, null, {
      json: true, // duplicate keys are accepted, as yaml-cpp accepts them
      listener(event, state) {
        if (event === 'open') stack.push(state.line);
        else {
          const line = stack.pop();
          const r: unknown = state.result;
          if (r !== null && typeof r === 'object' && line !== undefined && !lines.has(r)) lines.set(r, line + 1);
        }
      },
    });
  } catch (err) {
    const e = err as { reason?: string; mark?: { line: number; column: number }; message: string };
    const where = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
    return [{ file, line: e.mark ? e.mark.line + 1 : undefined, severity: 'error', reason: `YAML parse error${where}: ${e.reason ?? e.message}` }];
  }
  const problems: RulesProblem[] = [];
  for (const doc of docs) {
    if (doc === null || doc === undefined) continue;
    if (!Array.isArray(doc)) {
      const reason = typeof doc === 'object' ? 'Rules content is not yaml array of objects' : 'Rules content is not yaml';
      problems.push({ file, line: lines.get(doc as object) ?? 1, severity: 'error', reason });
      continue;
    }
    for (const item of doc) problems.push(...itemProblems(item, file, lines, doc));
  }
  return problems;
}

function itemProblems(item: unknown, file: string, lines: Map<object, number>, doc: unknown[]): RulesProblem[] {
  if (item === null) return [];
  if (typeof item !== 'object' || Array.isArray(item) || item instanceof Date) {
    return [{ file, line: lines.get(doc), severity: 'error', reason: 'Unexpected element type. Each element should be a yaml associative array.' }];
  }
  const record = item as Record<string, unknown>;
  const label = itemLabel(itemKind(record), record);
  return checkItem(record).map((p) => ({ file, line: lines.get(item), ...p, ...(label ? { item: label } : {}) }));
}

function itemLabel(kind: ItemKind | undefined, item: Record<string, unknown>): string | undefined {
  if (kind !== 'list' && kind !== 'macro' && kind !== 'rule') return kind;
  const name = item[kind];
  return typeof name === 'string' ? `${kind} '${name}'` : kind;
}

/** `file:line: severity: [item: ]reason`, one line per problem (for the CLI and logs). */
export function formatRulesProblem(p: RulesProblem): string {
  return `${p.file}:${p.line ?? '?'}: ${p.severity}: ${p.item ? `${p.item}: ` : ''}${p.reason}`;
}
