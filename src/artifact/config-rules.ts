import yaml from 'js-yaml';
import { ErrorCodes, RulesctlError } from '../errors.js';
import type { ArtifactConfig, ArtifactDependency, ArtifactRequirement } from './config.js';
import { applyDependsOn, applyRequires } from './config-flags.js';
import { isBlangSemver } from './semver.js';

/** The requirement name falcoctl writes for `required_engine_version`. */
export const ENGINE_REQUIREMENT = 'engine_version_semver';

export interface RulesfileConfigInput {
  /** The rules file text (not a tar.gz: those are never parsed). */
  yamlText: string;
  /** Path for messages. */
  file: string;
  name?: string;
  version?: string;
  dependsOn?: readonly string[];
  requires?: readonly string[];
}

/**
 * The config `registry push` writes for a plain rules file (falcoctl.md §2, falcoctl
 * cmd/registry/push rulesConfigLayer): flags win; otherwise dependencies come from the first item with
 * `required_plugin_versions` (file order, alternatives kept) and requirements from the first
 * `required_engine_version` (int N → `0.N.0`; a string must be semver). Only the first YAML document is
 * read. Returns warnings for what was not found; throws ERR_INVALID_RULES.
 */
export function rulesfileConfig(input: RulesfileConfigInput): { config: ArtifactConfig; warnings: string[] } {
  const items = loadItems(input.yamlText, input.file);
  let config: ArtifactConfig = { name: input.name, version: input.version };
  const warnings: string[] = [];
  if (input.dependsOn?.length) config = applyDependsOn(config, input.dependsOn);
  else {
    const deps = dependenciesFromItems(items, input.file);
    if (deps) config.dependencies = deps;
    else warnings.push('No dependencies were provided by the user and none were found in the rulesfile.');
  }
  if (input.requires?.length) config = applyRequires(config, input.requires);
  else {
    const req = engineRequirementFromItems(items);
    if (req) config.requirements = [req];
    else warnings.push('No requirements were provided by the user and none were found in the rulesfile.');
  }
  return { config, warnings };
}

function loadItems(text: string, file: string): Record<string, unknown>[] {
  let doc: unknown;
  try {
    doc = yaml.loadAll(text)[0];
  } catch (err) {
    throw unmarshal(file, (err as Error).message);
  }
  if (doc === undefined || doc === null) return [];
  if (!Array.isArray(doc)) throw unmarshal(file, 'the document is not a list of items');
  return doc.map((item, i) => {
    if (item === null) return {};
    if (typeof item !== 'object' || Array.isArray(item)) throw unmarshal(file, `item ${i + 1} is not a mapping`);
    return item as Record<string, unknown>;
  });
}

/** Dependencies from the first `required_plugin_versions` item, in file order. */
export function dependenciesFromItems(items: Record<string, unknown>[], file: string): ArtifactDependency[] | undefined {
  const item = items.find((i) => 'required_plugin_versions' in i);
  if (!item) return undefined;
  const list = item.required_plugin_versions;
  if (list === null) return [];
  if (!Array.isArray(list)) throw depsError(file, 'required_plugin_versions must be a list');
  return list.map((entry) => {
    const { name, version } = pair(entry, file);
    const dep: ArtifactDependency = { name, version };
    const alts = (entry as Record<string, unknown>).alternatives;
    if (alts !== undefined && alts !== null) {
      if (!Array.isArray(alts)) throw depsError(file, `alternatives of "${name}" must be a list`);
      if (alts.length) dep.alternatives = alts.map((a) => pair(a, file));
    }
    return dep;
  });
}

/** The `engine_version_semver` requirement from the first `required_engine_version` item. */
export function engineRequirementFromItems(items: Record<string, unknown>[]): ArtifactRequirement | undefined {
  const item = items.find((i) => 'required_engine_version' in i);
  if (!item) return undefined;
  const v = item.required_engine_version;
  if (typeof v === 'number' && Number.isInteger(v)) return { name: ENGINE_REQUIREMENT, version: `0.${v}.0` };
  if (typeof v !== 'string') {
    throw new RulesctlError(
      ErrorCodes.INVALID_RULES,
      `required_engine_version must be an int or a string respecting the semver specification, got type ${goTypeName(v)}`,
    );
  }
  if (!isBlangSemver(v)) {
    throw new RulesctlError(ErrorCodes.INVALID_RULES, `${v} must be in semver format: expected "X.Y.Z"`, {
      hint: 'write required_engine_version as an integer (15) or a semver string ("0.57.0")',
    });
  }
  return { name: ENGINE_REQUIREMENT, version: v };
}

function pair(v: unknown, file: string): { name: string; version: string } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw depsError(file, 'each entry must be a mapping');
  const o = v as Record<string, unknown>;
  return { name: scalarText(o.name, 'name', file), version: scalarText(o.version, 'version', file) };
}

function scalarText(v: unknown, key: string, file: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw depsError(file, `${key} must be a string`);
}

function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Date) return 'time.Time';
  return 'map[string]interface {}';
}

function unmarshal(file: string, reason: string): RulesctlError {
  return new RulesctlError(ErrorCodes.INVALID_RULES, `unable to unmarshal rulesfile ${file}: ${reason}`, {
    hint: 'a rules file is a YAML list of rule, macro and list items',
  });
}

function depsError(file: string, reason: string): RulesctlError {
  return new RulesctlError(ErrorCodes.INVALID_RULES, `unable to parse dependencies from rulesfile ${file}: ${reason}`);
}
