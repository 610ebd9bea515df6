import { requestUrl } from '../util/undici.js';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { checkRequirements, parseFalcoVersions, type FalcoVersions, type RequirementFailure } from '../resolve/requirements.js';
import type { PlannedArtifact } from './plan.js';

/** GETs Falco's `/versions` and returns the body text. */
export type FetchVersions = (url: string, opts: { signal?: AbortSignal }) => Promise<string>;

const VERSIONS_TIMEOUT_MS = 30_000;

/** The default FetchVersions: one undici GET with a 30 s timeout; any status is accepted (as falcoctl). */
export const fetchVersionsOverHttp: FetchVersions = async (url, opts) => {
  const timeout = AbortSignal.timeout(VERSIONS_TIMEOUT_MS);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const res = await requestUrl(url, { method: 'GET', signal });
  return res.body.text();
};

export interface FalcoTarget {
  /** Falco's `/versions` URL, or its body already parsed. */
  falcoVersions?: string | FalcoVersions;
  /** `0.57.0` (engine_version_semver) or `57` (engine_version). */
  engineVersion?: string;
  fetchVersions?: FetchVersions;
  signal?: AbortSignal;
}

/** Versions implied by an explicit engine version: both the integer and the semver keys. */
export function engineVersions(engineVersion: string): FalcoVersions {
  if (/^(0|[1-9]\d*)$/.test(engineVersion)) return { engine_version: engineVersion, engine_version_semver: `0.${engineVersion}.0` };
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(engineVersion);
  if (m === null) {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid engine version "${engineVersion}": expected X.Y.Z (engine_version_semver) or an integer (engine_version)`, {
      hint: 'e.g. --engine-version 0.57.0',
    });
  }
  return { engine_version_semver: engineVersion, engine_version: String(Number(m[2])) };
}

/**
 * The versions to check against, or undefined when neither is given. An explicit engine version
 * overrides those keys of `/versions`; alone, only the engine keys are known, so requirements on
 * other keys (plugin_api_version) are not checked.
 */
export async function loadFalcoVersions(t: FalcoTarget): Promise<{ versions: FalcoVersions; partial: boolean } | undefined> {
  if (t.falcoVersions === undefined && t.engineVersion === undefined) return undefined;
  let versions: FalcoVersions = {};
  if (typeof t.falcoVersions === 'string') {
    const fetch = t.fetchVersions ?? fetchVersionsOverHttp;
    let body: string;
    try {
      body = await fetch(t.falcoVersions, { signal: t.signal });
    } catch (err) {
      if (t.signal?.aborted) throw err;
      throw new RulesctlError(ErrorCodes.NETWORK, `unable to retrieve Falco versions from "${t.falcoVersions}": ${(err as Error).message}`, {
        cause: err, hint: 'check that Falco runs with its web server enabled, or give --engine-version instead',
      });
    }
    versions = parseFalcoVersions(body);
  } else if (t.falcoVersions !== undefined) versions = { ...t.falcoVersions };
  if (t.engineVersion !== undefined) Object.assign(versions, engineVersions(t.engineVersion));
  return { versions, partial: t.falcoVersions === undefined };
}

/**
 * Checks every planned artifact's requirements with falcoctl's rules (spec §11) and throws
 * ERR_REQUIREMENT_UNMET listing every failure, before anything is written.
 */
export function assertRequirements(artifacts: readonly PlannedArtifact[], falco: { versions: FalcoVersions; partial: boolean }): void {
  const failures: Array<RequirementFailure & { artifact: string }> = [];
  for (const a of artifacts) {
    const reqs = (a.inspected.config.requirements ?? []).filter((r) => !falco.partial || r.name in falco.versions);
    for (const f of checkRequirements(reqs, falco.versions)) failures.push({ ...f, artifact: `${a.name} ${a.version}` });
  }
  if (failures.length === 0) return;
  const lines = failures.map((f) => `${f.artifact} ${f.message}`);
  throw new RulesctlError(ErrorCodes.REQUIREMENT_UNMET, `Falco cannot load ${failures.length === 1 ? 'this artifact' : 'these artifacts'}, nothing was installed: ${lines.join('; ')}`, {
    hint: 'install versions made for this Falco (e.g. an older tag), or upgrade Falco',
    details: { failures: failures.map((f) => ({ artifact: f.artifact, name: f.name, required: f.required, reported: f.reported, reason: f.reason })) },
  });
}
