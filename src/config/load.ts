import { ErrorCodes, RulesctlError } from '../errors.js';
import { SETTINGS, canonicalKey, defaultOf, definitionOf } from './definitions.js';
import type { Env, SettingKey, SettingValue } from './definitions.js';
import type { WrittenConfig } from './file.js';

export type SettingSource = 'flag' | 'env' | 'file' | 'default';

export interface ResolveSettingsInput {
  /**
   * Values explicitly given on the command line (commander `getOptionValueSource() === 'cli'`),
   * keyed by setting key in any casing. Strings and string lists are parsed like env values;
   * anything else is taken as already typed.
   */
  flags?: Readonly<Record<string, unknown>>;
  /** The environment, injected (the library never reads process.env). */
  env: Env;
  fileConfig?: WrittenConfig;
  /**
   * Problems with falcoctl.yaml values, by key (`fileErrorsByKey`): such a key counts as set in the
   * file, and `get` of it throws, so only the commands that read it fail (falcoctl reads per command).
   */
  fileErrors?: ReadonlyMap<SettingKey, string>;
  /** The config file, named in the message of a bad file value. */
  filePath?: string;
  /** Limit resolution to these keys (others throw on get); default all. */
  keys?: readonly string[];
  /** Home directory, for defaults such as `~/.docker/config.json`. */
  home?: string;
}

export interface ResolvedSetting {
  key: SettingKey;
  value: unknown;
  source: SettingSource;
  /** The env var that sets this key. */
  env: string;
  flag?: string;
  /** Set when the value came from a fallback key (install's assets dir, see definitions). */
  via?: string;
  /** A problem with the flag/env/file value; `value` is then the default. */
  error?: string;
}

export interface ResolvedSettings {
  get<K extends SettingKey>(key: K): SettingValue<K>;
  get(key: string): unknown;
  sourceOf(key: string): SettingSource;
  all(): ResolvedSetting[];
  /**
   * Problems with flag/env values, secret-free; `get` of such a key throws. Bad file values are
   * not listed: `get` of their key throws (a command fails only on the keys it reads).
   */
  errors: string[];
}

/**
 * Resolves settings layer by layer with provenance: flags > env > file > defaults (spec §10,
 * style practice 16). Empty env vars count as unset (viper's AllowEmptyEnv is off).
 */
export function resolveSettings(input: ResolveSettingsInput): ResolvedSettings {
  const flags = new Map<SettingKey, unknown>();
  for (const [k, v] of Object.entries(input.flags ?? {})) {
    const key = canonicalKey(k);
    if (key === undefined) throw new RulesctlError(ErrorCodes.USAGE, `unknown setting "${k}"`);
    if (v !== undefined) flags.set(key, v);
  }
  const wanted = (input.keys ?? Object.keys(SETTINGS)).map((k) => {
    const key = canonicalKey(k);
    if (key === undefined) throw new RulesctlError(ErrorCodes.USAGE, `unknown setting "${k}"`);
    return key;
  });
  const resolved = new Map<SettingKey, ResolvedSetting>();
  for (const key of wanted) resolved.set(key, resolveOne(key, flags, input));

  const lookup = (k: string): ResolvedSetting => {
    const key = canonicalKey(k);
    const r = key === undefined ? undefined : resolved.get(key);
    if (r === undefined) throw new RulesctlError(ErrorCodes.USAGE, `setting "${k}" was not resolved`);
    return r;
  };
  return {
    get: ((k: string) => {
      const r = lookup(k);
      if (r.error !== undefined && r.source === 'file') {
        throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `invalid config file "${input.filePath ?? 'falcoctl.yaml'}":\n  ${r.error}`, {
          hint: 'Fix the keys above, or point --config at another file.',
          details: { key: r.key, source: r.source },
        });
      }
      if (r.error !== undefined) {
        throw new RulesctlError(ErrorCodes.INVALID_CONFIG, r.error, {
          hint: r.source === 'flag' ? `fix the value of ${r.flag ?? 'the flag'}` : `fix or unset ${r.env}`,
          details: { key: r.key, source: r.source },
        });
      }
      return r.value;
    }) as ResolvedSettings['get'],
    sourceOf: (k) => lookup(k).source,
    all: () => [...resolved.values()],
    errors: [...resolved.values()].flatMap((r) => (r.error === undefined || r.source === 'file' ? [] : [r.error])),
  };
}

function resolveOne(key: SettingKey, flags: Map<SettingKey, unknown>, input: ResolveSettingsInput): ResolvedSetting {
  const def = definitionOf(key);
  const base = { key, env: def.env, ...(def.flag ? { flag: def.flag.name } : {}) };
  const fallback = def.fallbackKey === undefined ? undefined : canonicalKey(def.fallbackKey);
  const dflt = (): unknown => defaultOf(key, { env: input.env, home: input.home ?? '' });

  if (flags.has(key)) {
    const raw = flags.get(key);
    if (typeof raw !== 'string' && !Array.isArray(raw)) return { ...base, value: raw, source: 'flag' };
    const r = def.parse(raw, 'flag');
    return r.ok ? { ...base, value: r.value, source: 'flag' } : { ...base, value: dflt(), source: 'flag', error: `${def.flag?.name ?? key}: ${r.error}` };
  }
  for (const k of fallback === undefined ? [key] : [key, fallback]) {
    const envName = definitionOf(k).env;
    const text = input.env[envName];
    if (text === undefined || text === '') continue;
    const r = definitionOf(k).parse(text, 'env');
    const via = k === key ? {} : { via: k };
    if (r.ok) return { ...base, ...via, value: r.value, source: 'env' };
    // falcoctl's own list messages are kept verbatim; ours name the variable.
    const verbatim = r.error.startsWith('env variable') || r.error.startsWith('not valid token');
    const error = verbatim ? r.error : `${envName}: ${r.error}`;
    return { ...base, ...via, value: dflt(), source: 'env', error };
  }
  for (const k of fallback === undefined ? [key] : [key, fallback]) {
    const via = k === key ? {} : { via: k };
    const error = input.fileErrors?.get(k);
    if (error !== undefined) return { ...base, ...via, value: dflt(), source: 'file', error };
    const fileConfig = input.fileConfig as Record<string, unknown> | undefined;
    if (fileConfig !== undefined && k in fileConfig) return { ...base, ...via, value: fileConfig[k], source: 'file' };
  }
  return { ...base, value: dflt(), source: 'default' };
}

/**
 * Sorts the `<dotted key>: <problem>` errors of a falcoctl.yaml (src/config/file.ts) by the setting
 * they concern: a key's own (`artifact.follow.every: …`, `registry.auth.basic[0]…`) or a block's
 * (`artifact.follow: expected a mapping`, every key under it). What names no setting (invalid YAML,
 * a top level that is not a mapping) is `general`: it concerns every command.
 */
export function fileErrorsByKey(errors: readonly string[]): { byKey: Map<SettingKey, string>; general: string[] } {
  const byKey = new Map<SettingKey, string>();
  const general: string[] = [];
  const all = Object.keys(SETTINGS) as SettingKey[];
  for (const e of errors) {
    const path = /^([A-Za-z0-9_.-]+)(?=[:[])/.exec(e)?.[1]?.toLowerCase();
    const own = path === undefined ? undefined : canonicalKey(path);
    const keys = own !== undefined ? [own] : path === undefined ? [] : all.filter((k) => k.toLowerCase().startsWith(`${path}.`));
    if (keys.length === 0) general.push(e);
    for (const k of keys) byKey.set(k, byKey.has(k) ? `${byKey.get(k)!}\n  ${e}` : e);
  }
  return { byKey, general };
}
