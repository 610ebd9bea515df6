import { COMMA_LIST, SEMICOLON_LIST, envMismatch, fail, kindOf, ok, show, stringList } from './parsers.js';
import type { ParseResult, Parser } from './parsers.js';

/** `indexes` entries (spec §8, §10). */
export interface IndexSetting { name: string; url: string; backend: string }
/** `registry.auth.basic` entries; `password` is a secret. */
export interface BasicAuthSetting { registry: string; user: string; password: string }
/** `registry.auth.oauth` entries; `clientSecret` is a secret. */
export interface OAuthSetting { registry: string; clientID: string; clientSecret: string; tokenURL: string }
/** `registry.auth.gcp` entries. */
export interface GcpAuthSetting { registry: string }

export const ARTIFACT_TYPES = ['rulesfile', 'plugin', 'asset'] as const;
export type ArtifactType = (typeof ARTIFACT_TYPES)[number];

const REDACTED = '<redacted>';

interface RecordSpec<T> {
  /** Field names in env order, as mapstructure matches them (case-insensitive). */
  fields: readonly (keyof T & string)[];
  required: readonly (keyof T & string)[];
  /** Env values that carry a secret are never echoed in errors. */
  secret: boolean;
  fromTokens: (values: string[]) => T;
}

/** Decodes one YAML mapping as mapstructure's WeakDecode would (keys case-insensitive). */
function decodeRecord<T>(raw: unknown, spec: RecordSpec<T>, at: string): ParseResult<T> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(`${at}: expected a mapping, got ${spec.secret ? kindOf(raw) : show(raw)}`);
  const byLower = new Map(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
  const out: Record<string, string> = {};
  for (const f of spec.fields) {
    const v = byLower.get(f.toLowerCase());
    if (v === undefined || v === null) {
      if (spec.required.includes(f)) return fail(`${at}.${f}: required`);
      out[f] = '';
    } else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out[f] = String(v);
    } else {
      return fail(`${at}.${f}: expected a string, got ${spec.secret ? kindOf(v) : show(v)}`);
    }
  }
  return ok(out as T);
}

/** falcoctl's env form: `a,b,c;d,e,f` with exactly `fields.length` comma fields per entry. */
function parseEnvRecords<T>(text: string, spec: RecordSpec<T>): ParseResult<T[]> {
  const shown = spec.secret ? REDACTED : text;
  if (!SEMICOLON_LIST.test(text)) return fail(envMismatch(SEMICOLON_LIST, shown));
  const out: T[] = [];
  for (const token of text.split(';')) {
    const tokenShown = spec.secret ? REDACTED : token;
    if (!COMMA_LIST.test(token)) return fail(envMismatch(COMMA_LIST, tokenShown));
    const values = token.split(',');
    if (values.length !== spec.fields.length) return fail(`not valid token ${JSON.stringify(tokenShown)}`);
    out.push(spec.fromTokens(values));
  }
  return ok(out);
}

function recordList<T>(spec: RecordSpec<T>): Parser<T[]> {
  return (raw, origin) => {
    // falcoctl's decode hook takes the string form from the file too, not only from env.
    if (typeof raw === 'string') return parseEnvRecords(raw, spec);
    if (!Array.isArray(raw)) return fail(`expected a list of mappings, got ${spec.secret ? 'a non-list' : show(raw)}`);
    const out: T[] = [];
    for (const [i, item] of raw.entries()) {
      const r = decodeRecord(item, spec, `[${i}]`);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return ok(out);
  };
}

/** falcoctl cuts a ref to its registry (text before the first `/`) in the env form. */
function registryOf(refOrHost: string): string {
  const i = refOrHost.indexOf('/');
  return i > 0 ? refOrHost.slice(0, i) : refOrHost;
}

const indexFile = recordList<IndexSetting>({
  fields: ['name', 'url', 'backend'],
  required: ['name', 'url'],
  secret: false,
  fromTokens: ([name = '', url = '', backend = '']) => ({ name, url, backend }),
});
// The string form has exactly 2 fields (no backend), unlike the mapping form (spec §10).
const indexString = recordList<IndexSetting>({
  fields: ['name', 'url'] as (keyof IndexSetting)[],
  required: ['name', 'url'],
  secret: false,
  fromTokens: ([name = '', url = '']) => ({ name, url, backend: '' }),
});

/** `indexes`: `[{name, url, backend}]`, or `name,url;…` (env, or a string in the file). */
export const indexes: Parser<IndexSetting[]> = (raw, origin) => (typeof raw === 'string' ? indexString : indexFile)(raw, origin);

export const basicAuths = recordList<BasicAuthSetting>({
  fields: ['registry', 'user', 'password'],
  required: ['registry'],
  secret: true,
  fromTokens: ([registry = '', user = '', password = '']) => ({ registry: registryOf(registry), user, password }),
});

export const oauthAuths = recordList<OAuthSetting>({
  fields: ['registry', 'clientID', 'clientSecret', 'tokenURL'],
  required: ['registry'],
  secret: true,
  fromTokens: ([registry = '', clientID = '', clientSecret = '', tokenURL = '']) => ({ registry, clientID, clientSecret, tokenURL }),
});

const gcpFile = recordList<GcpAuthSetting>({ fields: ['registry'], required: ['registry'], secret: false, fromTokens: ([registry = '']) => ({ registry }) });

/** `FALCOCTL_REGISTRY_AUTH_GCP=reg1;reg2`, or `[{registry: …}]` in the file. */
export const gcpAuths: Parser<GcpAuthSetting[]> = (raw, origin) => {
  if (typeof raw === 'string') {
    if (!SEMICOLON_LIST.test(raw)) return fail(envMismatch(SEMICOLON_LIST, raw));
    return ok(raw.split(';').map((registry) => ({ registry })));
  }
  return gcpFile(raw, origin);
};

const typeList = stringList(COMMA_LIST, ',', 'artifact type');

/**
 * `artifact.allowedTypes`: a list, or a comma string `rulesfile,plugin`. An empty list allows
 * every type. Deliberate fix: falcoctl's env error quotes the semicolon regex while checking the
 * comma one; rulesctl quotes the regex it checks.
 */
export const allowedTypes: Parser<ArtifactType[]> = (raw, origin) => {
  const r = typeList(raw, origin);
  if (!r.ok) return r;
  for (const t of r.value) {
    if (!(ARTIFACT_TYPES as readonly string[]).includes(t)) {
      return fail(`unrecognized artifact type in config: ${JSON.stringify(t)}, must be one of "rulesfile", "plugin", "asset"`);
    }
  }
  return ok(r.value as ArtifactType[]);
};

/**
 * rulesctl-only `registry.mirrors`: `{registry: [mirror URL, …]}` in the file; env
 * `registry=url1,url2;registry2=url3`.
 */
export const mirrors: Parser<Record<string, string[]>> = (raw, origin) => {
  if (typeof raw === 'string' && origin !== 'file') {
    const out: Record<string, string[]> = {};
    const re = /^[^=;]+=[^=;,]+(,[^=;,]+)*(;[^=;]+=[^=;,]+(,[^=;,]+)*)*$/;
    if (!re.test(raw)) return fail(envMismatch(re, raw));
    for (const entry of raw.split(';')) {
      const [host = '', urls = ''] = entry.split('=');
      out[host] = urls.split(',');
    }
    return ok(out);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(`expected a mapping of registry to mirror URLs, got ${show(raw)}`);
  const out: Record<string, string[]> = {};
  for (const [host, v] of Object.entries(raw)) {
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || !list.every((u) => typeof u === 'string')) return fail(`${host}: expected a list of URLs, got ${show(v)}`);
    out[host] = list;
  }
  return ok(out);
};
