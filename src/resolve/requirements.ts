import semver from './_semver.js';
import type { ArtifactDependency, ArtifactRequirement } from '../artifact/config.js';
import { isBlangSemver } from '../artifact/semver.js';
import { ErrorCodes, RulesctlError } from '../errors.js';

/** Falco's /versions values that are strings (falcoctl keeps only those). Spec §11. */
export type FalcoVersions = Record<string, string>;

export interface RequirementFailure {
  name: string;
  required: string;
  /** What Falco reports; undefined when the key is missing. */
  reported?: string;
  reason: 'missing' | 'major' | 'older' | 'invalid';
  /** `requires engine_version_semver 0.60.0, Falco reports 0.57.0`. */
  message: string;
  /** falcoctl's wording (`incompatible versions, MINOR mismatch, …`), for logs that must match it. */
  falcoctlMessage: string;
}

const INTEGER = /^(0|[1-9]\d*)$/;

function parseBody(body: string | unknown): Record<string, unknown> {
  let doc: unknown = body;
  if (typeof body === 'string') {
    try {
      doc = JSON.parse(body);
    } catch (err) {
      throw new RulesctlError(ErrorCodes.INVALID_CONFIG, `error unmarshalling Falco versions: ${(err as Error).message}`, {
        hint: 'check that --falco-versions points at Falco\'s /versions endpoint',
      });
    }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new RulesctlError(ErrorCodes.INVALID_CONFIG, 'error unmarshalling Falco versions: expected a JSON object', {
      hint: 'check that --falco-versions points at Falco\'s /versions endpoint',
    });
  }
  return doc as Record<string, unknown>;
}

/** Falco's /versions body (text or parsed JSON) → its string values, as falcoctl keeps them. */
export function parseFalcoVersions(body: string | unknown): FalcoVersions {
  const out: FalcoVersions = {};
  for (const [k, v] of Object.entries(parseBody(body))) if (typeof v === 'string') out[k] = v;
  return out;
}

/** `plugin_versions` of the /versions body (`{name: version}`; absent when no plugin is loaded). */
export function parseFalcoPluginVersions(body: string | unknown): Record<string, string> {
  const pv = parseBody(body)['plugin_versions'];
  const out: Record<string, string> = {};
  if (typeof pv === 'object' && pv !== null) for (const [k, v] of Object.entries(pv)) if (typeof v === 'string') out[k] = v;
  return out;
}

function fail(req: ArtifactRequirement, reason: RequirementFailure['reason'], reported: string | undefined, message: string, falcoctlMessage: string): RequirementFailure {
  return { name: req.name, required: req.version, ...(reported === undefined ? {} : { reported }), reason, message, falcoctlMessage };
}

function checkOne(req: ArtifactRequirement, versions: FalcoVersions): RequirementFailure | undefined {
  const falco = versions[req.name];
  const base = `requires ${req.name} ${req.version}`;
  if (falco === undefined) {
    return fail(req, 'missing', undefined, `${base}, Falco does not report ${req.name}`, `unrecognized key ${req.name}: Falco does not satisfy this requirement`);
  }
  if (INTEGER.test(req.version)) {
    if (!INTEGER.test(falco)) return fail(req, 'invalid', falco, `${base}, Falco reports "${falco}", not an integer`, `expected integer for key ${req.name}`);
    if (Number(falco) < Number(req.version)) {
      return fail(req, 'older', falco, `${base}, Falco reports ${falco}`, `incompatible versions, Falco: ${Number(falco)}, Requirement: ${req.name}:${Number(req.version)}`);
    }
    return undefined;
  }
  if (!isBlangSemver(falco)) return fail(req, 'invalid', falco, `${base}, Falco reports "${falco}", not semver`, `expected semver for key ${req.name}`);
  if (!isBlangSemver(req.version)) return fail(req, 'invalid', falco, `${base}: "${req.version}" is not semver`, `expected semver for key ${req.name}`);
  const falcoctl = (kind: string) => `incompatible versions, ${kind} mismatch, Falco: ${falco}, Requirement: ${req.name}:${req.version}`;
  if (semver.major(falco) !== semver.major(req.version)) return fail(req, 'major', falco, `${base}, Falco reports ${falco} (another major version)`, falcoctl('MAJOR'));
  if (semver.compare(falco, req.version) < 0) return fail(req, 'older', falco, `${base}, Falco reports ${falco}`, falcoctl('MINOR'));
  return undefined;
}

/**
 * Checks an artifact's requirements against Falco's versions with falcoctl's rules (spec §11): the
 * key must exist; `^(0|[1-9]\d*)$` compares as integers (Falco >= required); anything else as
 * strict semver (same major, Falco >= required). Returns every failure (falcoctl stops at the first).
 */
export function checkRequirements(requirements: readonly ArtifactRequirement[] | undefined, versions: FalcoVersions): RequirementFailure[] {
  return (requirements ?? []).flatMap((r) => checkOne(r, versions) ?? []);
}

/**
 * Beyond falcoctl: checks a rulesfile's plugin dependencies against the plugins Falco has loaded
 * (`plugin_versions`): each dependency, or one of its alternatives, must be loaded at a version of
 * the same major and >= the stated one. Dependencies on plugins that are not loaded are failures.
 */
export function checkPluginVersions(dependencies: readonly ArtifactDependency[] | undefined, loaded: Record<string, string>): RequirementFailure[] {
  const failures: RequirementFailure[] = [];
  for (const dep of dependencies ?? []) {
    const options = [{ name: dep.name, version: dep.version }, ...(dep.alternatives ?? [])];
    const results = options.map((o) => checkOne(o, loaded));
    if (results.some((r) => r === undefined)) continue;
    const first = results.find((r) => r?.reason !== 'missing') ?? results[0]!;
    const message = first.reason === 'missing' ? `requires plugin ${dep.name} ${dep.version}, Falco has not loaded it` : first.message.replace(/^requires /, 'requires plugin ');
    failures.push({ ...first, message });
  }
  return failures;
}
