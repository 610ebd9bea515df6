import type { MergedIndex } from '../index/merged.js';
import type { Logger } from '../log.js';
import type { VerifyBeforeWriteOptions } from '../signature/install-hook.js';
import type { InstallDeps, InstallRequest, InstalledArtifact } from './install.js';
import type { PlannedArtifact } from './plan.js';
import type { InstallSession } from './session.js';

/** The index to read signature policies from: the full one if it was needed, else the local one. */
async function policyIndex(session: InstallSession, deps: InstallDeps, log: Logger): Promise<MergedIndex | undefined> {
  if (session.indexLoaded || deps.localIndex === undefined) return session.index().catch(() => undefined);
  try {
    return typeof deps.localIndex === 'function' ? await deps.localIndex() : deps.localIndex;
  } catch (err) {
    log.warn('Cannot read the local indexes for signature policies', { reason: (err as Error).message });
    return undefined;
  }
}

/**
 * Verifies every planned artifact before anything is written (spec §14): the policy is the
 * `signature` of the index entry named by the artifact's CONFIG name (so full references and
 * dependencies are verified too), subject `<repository>@<root digest>`; no policy or `noVerify`
 * skips. Any refusal (ERR_SIGNATURE) aborts the install.
 */
export async function verifyAll(artifacts: readonly PlannedArtifact[], session: InstallSession, request: InstallRequest, deps: InstallDeps, log: Logger): Promise<InstalledArtifact['signature'][]> {
  const index = await policyIndex(session, deps, log);
  // Loaded on demand: the Sigstore libraries cost start-up time that unsigned installs do not need.
  const verify = deps.verify ?? (async (o: VerifyBeforeWriteOptions) => (await import('../signature/install-hook.js')).verifyBeforeWrite(o));
  const out: InstalledArtifact['signature'][] = [];
  for (const a of artifacts) {
    const { target, repository, rootDigest } = a.inspected;
    const signature = index?.byName.get(a.inspected.config.name ?? a.name)?.signature;
    const referrers = (target as { referrers?: VerifyBeforeWriteOptions['referrers'] }).referrers;
    if (signature?.cosign !== undefined && !request.noVerify) log.info('Verifying signature for artifact', { digest: `${repository}@${rootDigest}` });
    const r = await verify({
      target, repository, digest: rootDigest, signature, noVerify: request.noVerify, logger: log,
      ...(referrers ? { referrers: referrers.bind(target) } : {}),
      ...(deps.trustedRoot ? { trustedRoot: deps.trustedRoot } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    if (r.status === 'verified') log.info('Signature successfully verified!');
    out.push(r.status === 'verified' ? 'verified' : r.reason);
  }
  return out;
}
