import { ErrorCodes, RulesctlError } from '../errors.js';
import { goJsonBytes, type GoJsonValue } from './go-json.js';
import { parseTolerant } from './semver.js';

/**
 * The Falco artifact config blob (falcoctl.md §2; falcoctl pkg/oci/types.go ArtifactConfig).
 */
export interface ArtifactConfig {
  name?: string;
  version?: string;
  dependencies?: ArtifactDependency[];
  requirements?: ArtifactRequirement[];
}

export interface ArtifactDependency {
  name: string;
  version: string;
  alternatives?: { name: string; version: string }[];
}

export interface ArtifactRequirement {
  name: string;
  version: string;
}

/**
 * Encodes a config exactly as falcoctl's json.Marshal does: fields `name, version, dependencies,
 * requirements`, all omitempty; entries always carry `name`/`version`, `alternatives` only when
 * non-empty. An empty config is `{}`.
 */
export function encodeConfig(config: ArtifactConfig): Buffer {
  const pair = (p: { name: string; version: string }): GoJsonValue => ({ name: p.name, version: p.version });
  const doc: GoJsonValue = {
    name: config.name || undefined,
    version: config.version || undefined,
    dependencies: config.dependencies?.length
      ? config.dependencies.map((d) => ({
          name: d.name,
          version: d.version,
          alternatives: d.alternatives?.length ? d.alternatives.map(pair) : undefined,
        }))
      : undefined,
    requirements: config.requirements?.length ? config.requirements.map(pair) : undefined,
  };
  return goJsonBytes(doc);
}

/**
 * Parses a pulled config blob. Like Go's json.Unmarshal, unknown fields and nulls are ignored; a value
 * of the wrong type fails with ERR_INVALID_CONFIG naming the field and the ref.
 */
export function parseConfig(bytes: Uint8Array | string, ref: string): ArtifactConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw invalid(ref, `not JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) throw invalid(ref, `expected a JSON object, got ${typeName(doc)}`);
  const config: ArtifactConfig = {};
  const name = optString(doc, 'name', ref);
  const version = optString(doc, 'version', ref);
  if (name !== undefined) config.name = name;
  if (version !== undefined) config.version = version;
  const deps = optArray(doc, 'dependencies', ref);
  if (deps) config.dependencies = deps.map((d, i) => parseDependency(d, `dependencies[${i}]`, ref));
  const reqs = optArray(doc, 'requirements', ref);
  if (reqs) config.requirements = reqs.map((r, i) => parsePair(r, `requirements[${i}]`, ref));
  return config;
}

/**
 * The config's version parsed tolerantly (falcoctl.md §2: `1` → `1.0.0`, `v1.2.3` → `1.2.3`).
 * Empty: `empty version for ref "<ref>": config may be corrupted`; unparsable: ERR_INVALID_CONFIG.
 */
export function tolerantConfigVersion(config: ArtifactConfig, ref: string): string {
  if (!config.version) {
    throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `empty version for ref "${ref}": config may be corrupted`);
  }
  const v = parseTolerant(config.version);
  if (v === undefined) {
    throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `invalid version "${config.version}" for ref "${ref}": not a semver version`);
  }
  return v;
}

function parseDependency(v: unknown, path: string, ref: string): ArtifactDependency {
  const dep: ArtifactDependency = parsePair(v, path, ref);
  const alts = optArray(v as Record<string, unknown>, 'alternatives', ref, path);
  if (alts) dep.alternatives = alts.map((a, i) => parsePair(a, `${path}.alternatives[${i}]`, ref));
  return dep;
}

function parsePair(v: unknown, path: string, ref: string): { name: string; version: string } {
  if (!isObject(v)) throw invalid(ref, `${path}: expected an object, got ${typeName(v)}`);
  return { name: optString(v, 'name', ref, path) ?? '', version: optString(v, 'version', ref, path) ?? '' };
}

function optString(o: Record<string, unknown>, key: string, ref: string, path = ''): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(ref, `${path ? `${path}.` : ''}${key}: expected a string, got ${typeName(v)}`);
  return v;
}

function optArray(o: Record<string, unknown>, key: string, ref: string, path = ''): unknown[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw invalid(ref, `${path ? `${path}.` : ''}${key}: expected an array, got ${typeName(v)}`);
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}

function invalid(ref: string, reason: string): RulesctlError {
  return new RulesctlError(ErrorCodes.INVALID_CONFIG, `invalid artifact config for "${ref}": ${reason}`, {
    hint: 'the artifact was probably not pushed by falcoctl or rulesctl; check it with `artifact config`',
  });
}
