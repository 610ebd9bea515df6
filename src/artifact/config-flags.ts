import { ErrorCodes, RulesctlError } from '../errors.js';
import type { ArtifactConfig, ArtifactDependency, ArtifactRequirement } from './config.js';
import { compareBytes } from './go-json.js';
import { isStrictVersion } from './semver.js';

const NAME = /^[a-z]+[a-z0-9-_]*$/;

/**
 * Applies `-d/--depends-on` values (`name:ver` or `name:ver|alt:ver|…`) the way falcoctl's
 * ArtifactConfig.ParseDependencies does (falcoctl.md §2): each part is `name:version` with exactly one
 * `:`, a name matching `^[a-z]+[a-z0-9-_]*$` and a strict semver version. The first part is the
 * dependency, the others its alternatives (kept sorted by name); dependencies are kept sorted by name
 * and a repeated name updates the version in place. Returns a new config; throws ERR_USAGE.
 */
export function applyDependsOn(config: ArtifactConfig, values: readonly string[]): ArtifactConfig {
  const deps: ArtifactDependency[] = (config.dependencies ?? []).map((d) => ({
    ...d,
    ...(d.alternatives ? { alternatives: d.alternatives.map((a) => ({ ...a })) } : {}),
  }));
  for (const value of values) {
    let current: ArtifactDependency | undefined;
    for (const part of value.split('|')) {
      const { name, version } = parseArtifactRef(part);
      if (current === undefined) current = upsertDependency(deps, name, version);
      else upsertAlternative(current, name, version);
    }
  }
  return { ...config, dependencies: deps };
}

/**
 * Applies `-r/--requires` values (`name:version`, exactly one `:`, version unchecked; falcoctl's
 * ParseRequirements): sorted by name, a repeated name overwrites. Returns a new config.
 */
export function applyRequires(config: ArtifactConfig, values: readonly string[]): ArtifactConfig {
  const reqs: ArtifactRequirement[] = (config.requirements ?? []).map((r) => ({ ...r }));
  for (const value of values) {
    const parts = value.split(':');
    if (parts.length !== 2) throw new RulesctlError(ErrorCodes.USAGE, `cannot parse "${value}"`, { hint: 'use --requires name:version' });
    const [name, version] = parts as [string, string];
    const existing = reqs.find((r) => r.name === name);
    if (existing) existing.version = version;
    else reqs.push({ name, version });
    reqs.sort((a, b) => compareBytes(a.name, b.name));
  }
  return { ...config, requirements: reqs };
}

/** falcoctl pkg/artifact ParseRef: `name:version`, validated name and strict semver. */
export function parseArtifactRef(part: string): { name: string; version: string } {
  const fail = (reason: string): RulesctlError =>
    new RulesctlError(ErrorCodes.USAGE, `cannot parse "${part}": ${reason}`, { hint: 'use --depends-on name:1.2.3 or "name:1.2.3|alt:1.0.0"' });
  const parts = part.split(':');
  if (parts.length !== 2) throw fail('invalid artifact reference (must be in the format "name:version")');
  const [name, version] = parts as [string, string];
  if (!NAME.test(name)) throw fail('invalid artifact name (must match "[a-z]+[a-z0-9-_]*)"');
  if (!isStrictVersion(version)) throw fail('invalid artifact version (must be a valid semver string)');
  return { name, version };
}

function upsertDependency(deps: ArtifactDependency[], name: string, version: string): ArtifactDependency {
  const existing = deps.find((d) => d.name === name);
  if (existing) {
    existing.version = version;
    return existing;
  }
  const dep: ArtifactDependency = { name, version };
  deps.push(dep);
  deps.sort((a, b) => compareBytes(a.name, b.name));
  return dep;
}

function upsertAlternative(dep: ArtifactDependency, name: string, version: string): void {
  const alts = (dep.alternatives ??= []);
  const existing = alts.find((a) => a.name === name);
  if (existing) {
    existing.version = version;
    return;
  }
  alts.push({ name, version });
  alts.sort((a, b) => compareBytes(a.name, b.name));
}
