import type { CosignSignature, IndexEntry, IndexMaintainer, IndexSignature, ParsedIndex } from './index-file.js';

/** Validation of a failsafe-schema js-yaml document (scalars are strings) into index entries. */

type Problems = { errors: string[]; warnings: string[] };
type Obj = Record<string, unknown>;

const ENTRY_KEYS = ['name', 'type', 'registry', 'repository', 'signature', 'description', 'home', 'keywords', 'license', 'maintainers', 'sources'];
const MANDATORY = ['name', 'type', 'registry', 'repository'] as const;
const OPTIONAL = ['description', 'home', 'license'] as const;
const COSIGN_STRINGS = [
  'certificate-oidc-issuer', 'certificate-oidc-issuer-regexp', 'certificate-identity',
  'certificate-identity-regexp', 'certificate-github-workflow', 'key',
] as const;
const TRUE = new Set(['true', 'True', 'TRUE', 'y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const FALSE = new Set(['false', 'False', 'FALSE', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const TYPES = new Set(['plugin', 'rulesfile', 'asset']);

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown, path: string, p: Problems): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  p.errors.push(`${path}: expected a string`);
  return '';
}

function strList(v: unknown, path: string, p: Problems): string[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) {
    p.errors.push(`${path}: expected a list of strings`);
    return [];
  }
  return v.map((item, i) => str(item, `${path}[${i}]`, p));
}

function warnUnknown(o: Obj, known: readonly string[], path: string, p: Problems): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) p.warnings.push(`${path}.${k}: unknown field, ignored`);
}

function maintainers(v: unknown, path: string, p: Problems): IndexMaintainer[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) {
    p.errors.push(`${path}: expected a list of {email, name}`);
    return [];
  }
  return v.map((m, i) => {
    const at = `${path}[${i}]`;
    if (!isObj(m)) {
      p.errors.push(`${at}: expected a mapping with email and name`);
      return { email: '', name: '' };
    }
    warnUnknown(m, ['email', 'name'], at, p);
    return { email: str(m['email'], `${at}.email`, p), name: str(m['name'], `${at}.name`, p) };
  });
}

function bool(v: unknown, path: string, p: Problems): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'string' && TRUE.has(v)) return true;
  if (typeof v === 'string' && FALSE.has(v)) return false;
  p.errors.push(`${path}: expected true or false`);
  return false;
}

function signature(v: unknown, path: string, p: Problems): IndexSignature | undefined {
  if (v === null || v === undefined) return undefined;
  if (!isObj(v)) {
    p.errors.push(`${path}: expected a mapping`);
    return undefined;
  }
  warnUnknown(v, ['cosign'], path, p);
  const c = v['cosign'];
  if (c === null || c === undefined) return {};
  if (!isObj(c)) {
    p.errors.push(`${path}.cosign: expected a mapping`);
    return {};
  }
  warnUnknown(c, [...COSIGN_STRINGS, 'ignore-tlog'], `${path}.cosign`, p);
  const cosign = Object.fromEntries(COSIGN_STRINGS.map((k) => [k, str(c[k], `${path}.cosign.${k}`, p)])) as Omit<CosignSignature, 'ignore-tlog'>;
  return { cosign: { ...cosign, 'ignore-tlog': bool(c['ignore-tlog'], `${path}.cosign.ignore-tlog`, p) } };
}

function entry(v: unknown, at: string, p: Problems): IndexEntry | undefined {
  if (!isObj(v)) {
    p.errors.push(`${at}: expected a mapping`);
    return undefined;
  }
  warnUnknown(v, ENTRY_KEYS, at, p);
  const e: Partial<IndexEntry> = {};
  for (const k of MANDATORY) {
    if (v[k] === undefined || v[k] === null || v[k] === '') p.errors.push(`${at}.${k}: required`);
    else e[k] = str(v[k], `${at}.${k}`, p);
  }
  const sig = signature(v['signature'], `${at}.signature`, p);
  if (e.type !== undefined && !TYPES.has(e.type)) p.warnings.push(`${at}.type: unknown artifact type "${e.type}"`);
  const [description, home, license] = OPTIONAL.map((k) => str(v[k], `${at}.${k}`, p));
  return {
    name: e.name ?? '', type: e.type ?? '', registry: e.registry ?? '', repository: e.repository ?? '',
    ...(sig === undefined ? {} : { signature: sig }),
    description: description!, home: home!,
    keywords: strList(v['keywords'], `${at}.keywords`, p),
    license: license!,
    maintainers: maintainers(v['maintainers'], `${at}.maintainers`, p),
    sources: strList(v['sources'], `${at}.sources`, p),
  };
}

/** Validates a parsed document (a list of entries) and rejects duplicate names. */
export function validateEntries(doc: unknown): ParsedIndex {
  const p: Problems = { errors: [], warnings: [] };
  if (doc === null || doc === undefined) return { entries: [], ...p };
  if (!Array.isArray(doc)) return { entries: [], warnings: [], errors: ['entries: expected a list of index entries'] };
  const entries: IndexEntry[] = [];
  const seen = new Set<string>();
  doc.forEach((item, i) => {
    const e = entry(item, `entries[${i}]`, p);
    if (e === undefined) return;
    if (e.name !== '' && seen.has(e.name)) p.errors.push(`duplicate entry found: ${e.name}`);
    seen.add(e.name);
    entries.push(e);
  });
  return { entries, ...p };
}
