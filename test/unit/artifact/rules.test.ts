import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diffRules, isEmptyDiff } from '../../../src/artifact/rules-diff.js';
import { formatRulesProblem, validateRules } from '../../../src/artifact/validate-rules.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../fixtures/rules/${name}`, import.meta.url), 'utf8');
const errors = (text: string) => validateRules(text, 'f.yaml').filter((p) => p.severity === 'error').map(formatRulesProblem);
const all = (text: string) => validateRules(text, 'f.yaml').map(formatRulesProblem);

describe('validateRules', () => {
  it('accepts the valid fixtures without problems', () => {
    expect(validateRules(fixture('valid_rules.yaml'), 'valid_rules.yaml')).toEqual([]);
    expect(validateRules(fixture('int_engine_version.yaml'), 'x')).toEqual([]);
    expect(validateRules('', 'empty')).toEqual([]);
  });

  it('reports a YAML syntax error with its line', () => {
    const [p, ...rest] = validateRules(fixture('bad_yaml.yaml'), 'bad_yaml.yaml');
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ file: 'bad_yaml.yaml', line: 4, severity: 'error' });
    expect(p!.reason).toMatch(/^YAML parse error at line 4, column \d+: /);
  });

  it('reports a rule without output at the rule line', () => {
    expect(validateRules(fixture('missing_output.yaml'), 'missing_output.yaml').map(formatRulesProblem)).toEqual([
      "missing_output.yaml:4: error: rule 'No output here': Item has no mapping for key 'output'",
    ]);
  });

  it('warns about an unknown top-level item', () => {
    expect(validateRules(fixture('unknown_item.yaml'), 'unknown_item.yaml').map(formatRulesProblem)).toEqual([
      'unknown_item.yaml:4: warning: Unknown top level item',
    ]);
  });

  it('checks document and element shapes', () => {
    expect(errors('just a scalar')).toEqual(['f.yaml:1: error: Rules content is not yaml']);
    expect(errors('rule: x\n')).toEqual(['f.yaml:1: error: Rules content is not yaml array of objects']);
    expect(errors('- 3\n')).toEqual(['f.yaml:1: error: Unexpected element type. Each element should be a yaml associative array.']);
  });

  it('checks keys, types and modes of definitions', () => {
    const text = [
      '- list: bad name',
      '  items: oops',
      '- macro: 1bad',
      '  condition: ""',
      '- rule: r',
      '  desc: d',
      '  condition: c',
      '  output: o',
      '  priority: LOUD',
      '  enabled: maybe',
      '  colour: red',
      '- rule: r',
      '  append: true',
      '  override: {condition: append}',
      '  condition: x',
      '- rule: r',
      '  override: {source: append, output: prepend}',
      '  output: x',
      '- rule: only_enabled',
      '  enabled: false',
      '- required_engine_version: v0.1',
      '- required_plugin_versions: [{name: json, version: "1.2"}]',
    ].join('\n');
    expect(all(text)).toEqual([
      'f.yaml:1: warning: list \'bad name\': List has an invalid name. List names should match a regular expression: ([^()"\'[:space:]=,]+)',
      "f.yaml:1: error: list 'bad name': Value is not a sequence",
      "f.yaml:3: warning: macro '1bad': Macro has an invalid name. Macro names should match a regular expression: ([a-zA-Z]+[a-zA-Z0-9_]*)",
      "f.yaml:3: error: macro '1bad': Value must be non-empty",
      "f.yaml:5: warning: rule 'r': Unknown key 'colour'. The key will be ignored.",
      "f.yaml:5: error: rule 'r': Invalid priority",
      "f.yaml:5: error: rule 'r': Can't decode YAML scalar value",
      "f.yaml:12: error: rule 'r': Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.",
      "f.yaml:16: error: rule 'r': Key 'source' cannot be appended to, use 'replace' instead",
      "f.yaml:16: error: rule 'r': Invalid override operation for key 'output': 'prepend'. Allowed values are: append replace ",
      "f.yaml:19: warning: rule 'only_enabled': The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace').",
      'f.yaml:21: error: required_engine_version: Unable to parse engine version \'v0.1\' as a semver string. Expected "x.y.z" semver format.',
      "f.yaml:22: error: required_plugin_versions: Invalid required version '1.2' for plugin 'json'",
    ]);
  });

  it('matches override keys with the keys present', () => {
    expect(errors('- rule: r\n  override: {condition: append, desc: replace}\n  condition: x\n  output: y\n')).toEqual([
      "f.yaml:1: error: rule 'r': Unexpected key 'output': no corresponding entry under 'override' is defined.",
      "f.yaml:1: error: rule 'r': An replace override for 'desc' was specified but 'desc' is not defined",
    ]);
  });

  it('checks exception shapes, comps and values', () => {
    const rule = (exceptions: string): string => `- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: INFO\n  exceptions:\n${exceptions}`;
    expect(all(rule('    - name: ok\n      fields: [proc.name, fd.name]\n      comps: [=, startswith oneof]\n      values: [[a, b]]\n    - name: ok\n      fields: proc.name\n      values: [a, b]\n'))).toEqual([
      "f.yaml:1: warning: rule 'r': Multiple definitions of exception 'ok' in the same rule",
    ]);
    expect(errors(rule('    - name: a\n      fields: [proc.name, fd.name]\n      comps: [=]\n'))).toEqual(["f.yaml:1: error: rule 'r': Fields and comps lists must have equal length"]);
    expect(errors(rule('    - name: a\n      fields: [proc.name]\n      comps: [like]\n      values: [[x, y]]\n'))).toEqual([
      "f.yaml:1: error: rule 'r': 'like' is not a supported comparison operator",
      "f.yaml:1: error: rule 'r': Fields and values lists must have equal length",
    ]);
    expect(errors(rule('    - name: a\n      fields: proc.name\n      comps: "="\n'))).toEqual([
      "f.yaml:1: error: rule 'r': When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator (e.g. startswith oneof)",
    ]);
    expect(errors(rule('    - name: a\n'))).toEqual(["f.yaml:1: error: rule 'r': Item has no mapping for key 'fields'"]);
    expect(errors(rule('    value: x\n'))).toEqual(["f.yaml:1: error: rule 'r': Rule exceptions must be a sequence"]);
  });

  it('accepts Falco bool words and a legacy append with a deprecation warning', () => {
    const text = '- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: info\n  enabled: yes\n- rule: r\n  append: true\n  condition: and x\n';
    expect(all(text)).toEqual(["f.yaml:7: warning: rule 'r': 'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead."]);
  });
});

describe('diffRules', () => {
  it('reports added, removed and changed names per kind', () => {
    const before = fixture('valid_rules.yaml');
    const after = before
      .replace('priority: WARNING', 'priority: ERROR')
      .replace('- macro: shell_procs\n  condition: (proc.name in (shell_binaries))\n', '')
      .concat('\n- list: editors\n  items: [vi]\n');
    expect(diffRules(before, after)).toEqual({
      rules: { added: [], removed: [], changed: ['Shell in container'] },
      macros: { added: [], removed: ['shell_procs'], changed: [] },
      lists: { added: ['editors'], removed: [], changed: [] },
    });
    expect(isEmptyDiff(diffRules(before, before.replace('# A small', '# Comment changed, a small')))).toBe(true);
    expect(() => diffRules('a: [', before)).toThrow(/the old rules file is not valid YAML/);
  });
});
