import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIndex, readIndex, serializeIndex, type IndexEntry } from '../../../src/index/index-file.js';
import { formatString } from '../../../src/index/_yaml.js';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/indexes/${name}`, import.meta.url), 'utf8');

describe('index file', () => {
  it('round-trips the spec example byte for byte', () => {
    const text = fixture('spec-example.yaml');
    const entries = readIndex(text);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.signature?.cosign?.['certificate-identity-regexp']).toBe('https://github.com/falcosecurity/rules/');
    expect(entries[0]!.signature?.cosign?.['ignore-tlog']).toBe(false);
    expect(serializeIndex(entries)).toBe(text);
  });

  it('round-trips the built-in falcosecurity index (gh-pages 3d01a057) byte for byte', () => {
    const text = readFileSync(new URL('../../../index/index.yaml', import.meta.url), 'utf8');
    const entries = readIndex(text);
    expect(entries).toHaveLength(28);
    expect(entries.filter((e) => e.type === 'plugin')).toHaveLength(18);
    expect(entries.find((e) => e.name === 'application-rules')!.signature).toBeUndefined();
    expect(Buffer.byteLength(text)).toBe(22556);
    expect(serializeIndex(entries)).toBe(text);
  });

  it('sorts by name and writes empty fields as falcoctl does', () => {
    const e: IndexEntry = {
      name: 'b', type: 'plugin', registry: 'r', repository: 'x/b', description: '', home: '',
      keywords: [], license: '', maintainers: [], sources: [],
    };
    const out = serializeIndex([e, { ...e, name: 'a', signature: {} }]);
    expect(out).toBe([
      '- name: a', '  type: plugin', '  registry: r', '  repository: x/b', '  signature: {}',
      '  description: ""', '  home: ""', '  keywords: []', '  license: ""', '  maintainers: []', '  sources: []',
      '- name: b', '  type: plugin', '  registry: r', '  repository: x/b',
      '  description: ""', '  home: ""', '  keywords: []', '  license: ""', '  maintainers: []', '  sources: []', '',
    ].join('\n'));
    expect(serializeIndex([])).toBe('[]\n');
  });

  it('keeps scalars as text and stays stable over a second round trip', () => {
    const first = serializeIndex(readIndex(fixture('quirky.yaml')));
    const entries = readIndex(first);
    expect(entries.map((e) => e.name)).toEqual(['alpha', 'zeta']);
    expect(entries[0]!.keywords).toContain('1.10');
    expect(entries[0]!.keywords).toContain('yes');
    expect(entries[0]!.description).toBe('Rules: the #1 set');
    expect(serializeIndex(entries)).toBe(first);
  });

  it.each([
    ['plain', 'plain'], ['', '""'], ['yes', '"yes"'], ['1.10', '"1.10"'], ['0x1F', '"0x1F"'], ['null', '"null"'],
    ['2024-01-02', '"2024-01-02"'], ['2006-01-02 15:04:05', '"2006-01-02 15:04:05"'], ['12:30', '"12:30"'],
    ['- dash', "'- dash'"], ['a#b', 'a#b'], ['a #b', "'a #b'"], ['key: value', "'key: value'"], ['x:y', 'x:y'],
    [' lead', "' lead'"], ["it's", "it's"], ['*star', "'*star'"], ['@home', "'@home'"], ['ünïcode', 'ünïcode'],
    ['line\nbreak', '"line\\nbreak"'], ['https://github.com/x', 'https://github.com/x'], ['Apache-2.0', 'Apache-2.0'],
  ])('formats %j as %s', (input, expected) => {
    expect(formatString(input)).toBe(expected);
  });

  it('rejects duplicate names', () => {
    expect(parseIndex(fixture('duplicate.yaml')).errors).toEqual(['duplicate entry found: one']);
    expect(() => readIndex(fixture('duplicate.yaml'), 'dup.yaml')).toThrow(/invalid index "dup.yaml": duplicate entry found: one/);
  });

  it('reports the entry position and field', () => {
    const { errors } = parseIndex(fixture('invalid-field.yaml'));
    expect(errors).toEqual(['entries[3].repository: expected a string', 'entries[3].keywords: expected a list of strings']);
    expect(parseIndex('- name: x\n  type: plugin\n  registry: r\n').errors).toEqual(['entries[0].repository: required']);
    expect(parseIndex('name: x\n').errors).toEqual(['entries: expected a list of index entries']);
    expect(parseIndex('- [unclosed').errors[0]).toMatch(/^cannot unmarshal index: /);
    expect(parseIndex('').entries).toEqual([]);
  });

  it('warns on unknown fields and types', () => {
    const r = parseIndex('- name: x\n  type: driver\n  registry: r\n  repository: a/x\n  extra: 1\n');
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(['entries[0].extra: unknown field, ignored', 'entries[0].type: unknown artifact type "driver"']);
  });
});
