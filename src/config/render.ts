import { definitionOf } from './definitions.js';
import type { ResolvedSetting, ResolvedSettings } from './load.js';

export interface SettingRow {
  key: string;
  /** The value with secrets replaced by `<redacted>`. */
  value: unknown;
  source: string;
  env: string;
  flag?: string;
  via?: string;
  rulesctlOnly?: boolean;
  error?: string;
}

/** Resolved settings as display rows: secrets (passwords, client secrets) become `<redacted>`. */
export function settingRows(settings: ResolvedSettings | readonly ResolvedSetting[]): SettingRow[] {
  const list = Array.isArray(settings) ? settings : (settings as ResolvedSettings).all();
  return list.map((s: ResolvedSetting) => {
    const def = definitionOf(s.key);
    const redact = def.redact as ((v: unknown) => unknown) | undefined;
    const value = redact === undefined ? s.value : redact(s.value);
    return {
      key: s.key,
      value,
      source: s.source,
      env: s.env,
      ...(s.flag === undefined ? {} : { flag: s.flag }),
      ...(s.via === undefined ? {} : { via: s.via }),
      ...(def.rulesctlOnly ? { rulesctlOnly: true } : {}),
      ...(s.error === undefined ? {} : { error: s.error }),
    };
  });
}

function formatValue(key: ResolvedSetting['key'], value: unknown): string {
  const format = definitionOf(key).format as ((v: unknown) => string) | undefined;
  if (format !== undefined) return format(value);
  if (typeof value === 'string') return value === '' ? '""' : value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.length === 0 ? '[]' : value.join(', ');
  return JSON.stringify(value);
}

function describeSource(row: SettingRow): string {
  const via = row.via === undefined ? '' : ` via ${row.via}`;
  if (row.source === 'env') return `env ${row.env}${via}`;
  if (row.source === 'flag') return `flag ${row.flag ?? ''}`.trimEnd();
  return `${row.source}${via}`;
}

/**
 * Renders the provenance table for `rulesctl config`: text (`KEY VALUE SOURCE`, columns padded,
 * rulesctl-only keys marked `*`) or JSON (an array of rows). Secret-free.
 */
export function renderSettings(settings: ResolvedSettings | readonly ResolvedSetting[], format: 'text' | 'json'): string {
  const rows = settingRows(settings);
  if (format === 'json') {
    const json = rows.map((r) => ({ ...r, value: r.value }));
    return `${JSON.stringify(json, null, 2)}\n`;
  }
  const table = [['KEY', 'VALUE', 'SOURCE']];
  for (const r of rows) {
    const value = r.error === undefined ? formatValue(r.key as ResolvedSetting['key'], r.value) : `error: ${r.error}`;
    table.push([`${r.key}${r.rulesctlOnly ? ' *' : ''}`, value, describeSource(r)]);
  }
  const widths = [0, 1].map((c) => Math.max(...table.map((row) => (row[c] as string).length)));
  const lines = table.map((row) => row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c] as number) : cell)).join('  '));
  const note = rows.some((r) => r.rulesctlOnly) ? '\n* rulesctl only (falcoctl ignores it)\n' : '';
  return `${lines.join('\n')}\n${note}`;
}
