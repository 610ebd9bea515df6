import yaml from 'js-yaml';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { formatString } from './_yaml.js';

/** One `configs[]` item of `~/.config/falcoctl/indexes.yaml`, fields in falcoctl's order (spec §8). */
export interface IndexConfigEntry {
  added_timestamp: string;
  name: string;
  updated_timestamp: string;
  url: string;
  /** Always written; `""` when `index add` got no BACKEND. */
  backend: string;
}

const FIELDS = ['added_timestamp', 'name', 'updated_timestamp', 'url', 'backend'] as const;

const pad = (n: number) => String(n).padStart(2, '0');

/** Go's `2006-01-02 15:04:05` layout in the local time zone (falcoctl consts.TimeFormat). */
export function formatTimestamp(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Parses indexes.yaml (`configs:` list). An empty document has no entries. Throws ERR_INVALID_INDEX
 * naming the field: `configs[1].url: expected a string`.
 */
export function parseIndexesConfig(text: string, source = 'indexes.yaml'): IndexConfigEntry[] {
  const fail = (msg: string) =>
    new RulesctlError(ErrorCodes.INVALID_INDEX, `invalid index configuration "${source}": ${msg}`, {
      hint: `fix or delete ${source}; it is rebuilt by "rulesctl index add"`,
    });
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.FAILSAFE_SCHEMA });
  } catch (err) {
    throw fail((err as Error).message.split('\n')[0] ?? 'unreadable YAML');
  }
  if (doc === null || doc === undefined) return [];
  if (typeof doc !== 'object' || Array.isArray(doc)) throw fail('expected a mapping with "configs"');
  const configs = (doc as Record<string, unknown>)['configs'];
  if (configs === null || configs === undefined) return [];
  if (!Array.isArray(configs)) throw fail('configs: expected a list');
  return configs.map((c, i) => {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw fail(`configs[${i}]: expected a mapping`);
    const o = c as Record<string, unknown>;
    const entry = {} as IndexConfigEntry;
    for (const f of FIELDS) {
      const v = o[f];
      if (v !== undefined && v !== null && typeof v !== 'string') throw fail(`configs[${i}].${f}: expected a string`);
      entry[f] = typeof v === 'string' ? v : '';
    }
    return entry;
  });
}

/** Serializes indexes.yaml exactly as falcoctl (yaml.v3 `Marshal`, indent 4). Spec §8. */
export function serializeIndexesConfig(entries: readonly IndexConfigEntry[]): string {
  if (entries.length === 0) return 'configs: []\n';
  const lines = ['configs:'];
  for (const e of entries) {
    FIELDS.forEach((f, i) => lines.push(`${i === 0 ? '    - ' : '      '}${f}: ${formatString(e[f])}`));
  }
  return `${lines.join('\n')}\n`;
}
