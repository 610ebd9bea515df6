/**
 * Shape checks of a rule's `exceptions` (falco-rules.md §5 "Exception entries", §10 rows 21-22):
 * reader shapes, then the definition-time checks of fields, comps and values. `defining` is false for
 * append/override items, where `fields` may be omitted.
 */
const OPERATORS = ['exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', 'intersects', 'in', 'pmatch'];
const MODIFIER_OPS = ['=', '==', '!=', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'glob', 'iglob', 'regex'];
const MODIFIERS = ['oneof', 'anyof', 'allof'];
const SCALAR_FIELD_OPS = ['in', 'pmatch', 'intersects'];

type Report = (severity: 'error' | 'warning', reason: string) => void;

function isModifierForm(op: string): boolean {
  const parts = op.split(' ');
  return parts.length === 2 && MODIFIER_OPS.includes(parts[0]!) && MODIFIERS.includes(parts[1]!);
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** Reports every exception problem of one rule item through `report`. */
export function checkExceptions(v: unknown, defining: boolean, report: Report): void {
  if (v === null || v === undefined) return;
  if (!Array.isArray(v)) return report('error', 'Rule exceptions must be a sequence');
  const names = new Set<string>();
  for (const e of v) {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return report('error', 'Rule exception must be a mapping');
    const ex = e as Record<string, unknown>;
    if (!('name' in ex)) report('error', "Item has no mapping for key 'name'");
    else if (!isScalar(ex.name) || String(ex.name) === '') report('error', 'Value must be non-empty');
    else if (names.has(String(ex.name))) report('warning', `Multiple definitions of exception '${String(ex.name)}' in the same rule`);
    else names.add(String(ex.name));
    if ('values' in ex && ex.values !== null && !Array.isArray(ex.values)) report('error', 'Rule exception values must be a sequence');
    if (defining) checkDefinition(ex, report);
  }
}

function checkDefinition(ex: Record<string, unknown>, report: Report): void {
  const { fields, comps, values } = ex;
  if (fields === undefined) return report('error', "Item has no mapping for key 'fields'");
  if (Array.isArray(fields)) {
    if (fields.length === 0 || !fields.every(isScalar)) return report('error', 'Rule exception item must have fields property with a list of fields');
    const ops = comps === undefined ? fields.map(() => '=') : comps;
    if (!Array.isArray(ops) || ops.length !== fields.length) return report('error', 'Fields and comps lists must have equal length');
    for (const op of ops.map((o) => String(o).trim())) {
      if (!OPERATORS.includes(op) && !isModifierForm(op)) report('error', `'${op}' is not a supported comparison operator`);
    }
    if (Array.isArray(values) && values.some((t) => !Array.isArray(t) || t.length !== fields.length)) {
      report('error', 'Fields and values lists must have equal length');
    }
    return;
  }
  if (!isScalar(fields) || String(fields) === '') return report('error', 'Rule exception item must have fields property with a list of fields');
  if (comps !== undefined && !isScalar(comps)) return report('error', 'Fields and comps must both be strings');
  const op = comps === undefined ? 'in' : String(comps).trim();
  if (!SCALAR_FIELD_OPS.includes(op) && !isModifierForm(op)) {
    report('error', 'When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator (e.g. startswith oneof)');
  }
  if (Array.isArray(values) && !values.every(isScalar)) report('error', 'Expected values array to contain a list of strings');
}
