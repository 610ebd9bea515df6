import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeConfig, parseConfig, tolerantConfigVersion } from '../../../src/artifact/config.js';
import { applyDependsOn, applyRequires } from '../../../src/artifact/config-flags.js';
import { rulesfileConfig } from '../../../src/artifact/config-rules.js';
import { parseTolerant } from '../../../src/artifact/semver.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../fixtures/rules/${name}`, import.meta.url), 'utf8');

describe('encodeConfig', () => {
  it('writes the falco-rules config of falcoctl.md §2 byte for byte', () => {
    const bytes = encodeConfig({ name: 'falco-rules', version: '5.1.0', requirements: [{ name: 'engine_version_semver', version: '0.57.0' }] });
    expect(bytes.toString()).toBe('{"name":"falco-rules","version":"5.1.0","requirements":[{"name":"engine_version_semver","version":"0.57.0"}]}');
  });

  it('writes the cloudtrail-rules config derived from a rules file with an int engine version', () => {
    const { config, warnings } = rulesfileConfig({ yamlText: fixture('int_engine_version.yaml'), file: 'x.yaml', name: 'cloudtrail-rules', version: '0.13.0' });
    expect(warnings).toEqual([]);
    expect(encodeConfig(config).toString()).toBe(
      '{"name":"cloudtrail-rules","version":"0.13.0","dependencies":[{"name":"cloudtrail","version":"0.10.0"},{"name":"json","version":"0.7.0"}],"requirements":[{"name":"engine_version_semver","version":"0.10.0"}]}',
    );
  });

  it('is {} when empty and omits empty alternatives', () => {
    expect(encodeConfig({}).toString()).toBe('{}');
    expect(encodeConfig({ name: '', dependencies: [], requirements: [] }).toString()).toBe('{}');
    expect(encodeConfig({ dependencies: [{ name: 'a', version: '1.0.0', alternatives: [] }] }).toString()).toBe(
      '{"dependencies":[{"name":"a","version":"1.0.0"}]}',
    );
  });

  it('escapes HTML characters like Go', () => {
    expect(encodeConfig({ name: 'a<b>&c\u2028' }).toString()).toBe('{"name":"a\\u003cb\\u003e\\u0026c\\u2028"}');
  });
});

describe('rules-derived config', () => {
  it('keeps file order and alternatives, and maps a semver engine version', () => {
    const { config } = rulesfileConfig({ yamlText: fixture('valid_rules.yaml'), file: 'v.yaml', name: 'n', version: '1.0.0' });
    expect(config.dependencies).toEqual([
      { name: 'k8saudit', version: '0.18.0', alternatives: [{ name: 'k8saudit-eks', version: '0.9.0' }] },
      { name: 'json', version: '0.7.0' },
    ]);
    expect(config.requirements).toEqual([{ name: 'engine_version_semver', version: '0.31.0' }]);
  });

  it('prefers flags and warns when nothing is found', () => {
    const r = rulesfileConfig({ yamlText: '- list: a\n  items: []\n', file: 'f', dependsOn: ['zeta:1.0.0', 'alpha:2.0.0'], version: '1.0.0' });
    expect(r.config.dependencies?.map((d) => d.name)).toEqual(['alpha', 'zeta']);
    expect(r.warnings).toEqual(['No requirements were provided by the user and none were found in the rulesfile.']);
  });

  it('rejects engine versions of the wrong type or format', () => {
    expect(() => rulesfileConfig({ yamlText: '- required_engine_version: 0.5\n', file: 'f' })).toThrow(/must be an int or a string.*got type float64/);
    expect(() => rulesfileConfig({ yamlText: '- required_engine_version: v0.5.0\n', file: 'f' })).toThrow(/v0.5.0 must be in semver format/);
    expect(() => rulesfileConfig({ yamlText: 'a: b\n', file: 'f' })).toThrow(/unable to unmarshal rulesfile f/);
  });
});

describe('--depends-on and --requires', () => {
  it('sorts dependencies and alternatives by name; a repeated name updates in place', () => {
    const c = applyDependsOn({}, ['json:0.7.0', 'cloudtrail:0.10.0|zz:1.0.0|aa:2.0.0', 'json:0.8.0']);
    expect(c.dependencies).toEqual([
      { name: 'cloudtrail', version: '0.10.0', alternatives: [{ name: 'aa', version: '2.0.0' }, { name: 'zz', version: '1.0.0' }] },
      { name: 'json', version: '0.8.0' },
    ]);
  });

  it('rejects bad names, versions and shapes with falcoctl messages', () => {
    expect(() => applyDependsOn({}, ['Bad:1.0.0'])).toThrow('cannot parse "Bad:1.0.0": invalid artifact name (must match "[a-z]+[a-z0-9-_]*)"');
    expect(() => applyDependsOn({}, ['a:v1.0.0'])).toThrow('invalid artifact version (must be a valid semver string)');
    expect(() => applyDependsOn({}, ['a:1.0.0+b'])).toThrow('invalid artifact version');
    expect(() => applyDependsOn({}, ['a'])).toThrow('invalid artifact reference (must be in the format "name:version")');
  });

  it('sorts requirements and overwrites duplicates, version unchecked', () => {
    const c = applyRequires({}, ['plugin_api_version:3.0.0', 'engine_version_semver:x', 'engine_version_semver:0.57.0']);
    expect(c.requirements).toEqual([
      { name: 'engine_version_semver', version: '0.57.0' },
      { name: 'plugin_api_version', version: '3.0.0' },
    ]);
    expect(() => applyRequires({}, ['a:b:c'])).toThrow('cannot parse "a:b:c"');
  });
});

describe('parseConfig', () => {
  it('parses what encodeConfig writes and ignores unknown fields', () => {
    const c = { name: 'x', version: '1.0.0', dependencies: [{ name: 'a', version: '1.0.0', alternatives: [{ name: 'b', version: '2.0.0' }] }] };
    expect(parseConfig(encodeConfig(c), 'r')).toEqual(c);
    expect(parseConfig('{"name":"x","extra":1}', 'r')).toEqual({ name: 'x' });
  });

  it('names the field of the wrong type', () => {
    expect(() => parseConfig('{"version":1}', 'ghcr.io/a:1')).toThrow('invalid artifact config for "ghcr.io/a:1": version: expected a string, got number');
    expect(() => parseConfig('{"dependencies":[{"name":3}]}', 'r')).toThrow('dependencies[0].name: expected a string');
    expect(() => parseConfig('[]', 'r')).toThrow('expected a JSON object, got array');
    expect(() => parseConfig('nope', 'r')).toThrow('not JSON');
  });

  it('parses versions tolerantly and rejects an empty one', () => {
    expect(parseTolerant('1')).toBe('1.0.0');
    expect(parseTolerant('1.2')).toBe('1.2.0');
    expect(parseTolerant('v1.2.3')).toBe('1.2.3');
    expect(parseTolerant('01.02.03')).toBe('1.2.3');
    expect(parseTolerant('1.2-rc1')).toBeUndefined();
    expect(tolerantConfigVersion({ version: 'v5' }, 'r')).toBe('5.0.0');
    expect(() => tolerantConfigVersion({ version: '' }, 'ghcr.io/x:1')).toThrow('empty version for ref "ghcr.io/x:1": config may be corrupted');
  });
});
