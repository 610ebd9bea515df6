import type { Logger } from '../log.js';
import { nullLogger } from '../log.js';
import type { OpOptions, Target } from '../oci/target.js';
import type { ReferrersFn } from './discover.js';
import type { KeyReadOptions } from './keys.js';
import { describePolicy, parseCosignPolicy, type CosignIndexSignature } from './policy.js';
import type { TrustedRootSource } from './trusted-root.js';
import type { VerifiedSignature } from './verify.js';

export interface VerifyBeforeWriteOptions extends OpOptions {
  /** Where the pulled root lives (the registry repository it was pulled from). */
  target: Target;
  /** `<registry>/<repository>`. */
  repository: string;
  /** The pulled root digest: the manifest, or the index for plugins. */
  digest: string;
  /**
   * The `signature` block of the index entry: for install, the entry named by the artifact's config
   * `name`; for follow, the entry named by the user's argument (so full refs go unverified, as in
   * falcoctl). Undefined or without `cosign`: nothing to verify.
   */
  signature?: { cosign?: CosignIndexSignature | null } | null;
  /** `--no-verify` / `artifact.noVerify`. */
  noVerify?: boolean;
  trustedRoot?: TrustedRootSource;
  /** The registry repository's `referrers` (tag-schema fallback included). */
  referrers?: ReferrersFn;
  readFile?: KeyReadOptions['readFile'];
  logger?: Logger;
}

export type VerifyBeforeWriteResult =
  | { status: 'verified'; signature: VerifiedSignature }
  | { status: 'skipped'; reason: 'no-policy' | 'no-verify' };

/**
 * The install/follow hook: call after the pull and before anything is written to the destination
 * (spec falcoctl.md §14). No policy: skipped; `noVerify`: skipped with a warning; otherwise
 * {@link verifyArtifact}, whose ERR_SIGNATURE must abort the install.
 */
export async function verifyBeforeWrite(opts: VerifyBeforeWriteOptions): Promise<VerifyBeforeWriteResult> {
  const log = opts.logger ?? nullLogger;
  const policy = parseCosignPolicy(opts.signature?.cosign ?? undefined);
  if (policy === undefined) return { status: 'skipped', reason: 'no-policy' };
  if (opts.noVerify === true) {
    log.warn('Signature verification skipped (--no-verify)', { reference: `${opts.repository}@${opts.digest}`, policy: describePolicy(policy) });
    return { status: 'skipped', reason: 'no-verify' };
  }
  // Loaded only when there is a policy to enforce: the Sigstore/TUF libraries cost ~150 ms of start-up.
  const { verifyArtifact } = await import('./verify.js');
  const signature = await verifyArtifact({
    target: opts.target,
    repository: opts.repository,
    digest: opts.digest,
    policy,
    ...(opts.trustedRoot ? { trustedRoot: opts.trustedRoot } : {}),
    ...(opts.referrers ? { referrers: opts.referrers } : {}),
    ...(opts.readFile ? { readFile: opts.readFile } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    logger: log,
  });
  return { status: 'verified', signature };
}
