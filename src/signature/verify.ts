import type { KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { Verifier, toSignedEntity, type KeyFinderFunc, type SignedEntity, type Signer, type TrustMaterial } from '@sigstore/verify';
import { ErrorCodes, RulesctlError } from '../errors.js';
import type { Logger } from '../log.js';
import { nullLogger } from '../log.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { OpOptions, Target } from '../oci/target.js';
import { CandidateRefused, candidateName, prepareCandidate, type PreparedSignature } from './_candidate.js';
import { discoverSignatures, type ReferrersFn, type SignatureCandidate } from './discover.js';
import { keyHint, loadPublicKey, type KeyReadOptions } from './keys.js';
import { legacySignatureTag, referrersTag } from './media-types.js';
import { checkIdentity, describePolicy, type SignaturePolicy } from './policy.js';
import { loadTrustMaterial, type TrustedRootSource } from './trusted-root.js';

export interface VerifyArtifactOptions extends OpOptions {
  /** Where the artifact and its signatures live (a registry repository, a layout, memory). */
  target: Target;
  /** `<registry>/<repository>`, for messages (the subject is `<repository>@<digest>`). */
  repository: string;
  /** The root digest that was pulled: the manifest, or the index for plugins (§14). */
  digest: string;
  policy: SignaturePolicy;
  /** Needed for keyless policies and for Rekor checks; see {@link TrustedRootSource}. */
  trustedRoot?: TrustedRootSource;
  /** The registry client's referrers lookup; without it the `<alg>-<hex>` fallback tag is read. */
  referrers?: ReferrersFn;
  readFile?: KeyReadOptions['readFile'];
  logger?: Logger;
}

/** What was verified. */
export interface VerifiedSignature {
  /** `bundle`: cosign v3 referrer; `legacy`: a layer of the cosign v2 `.sig` tag. */
  format: 'bundle' | 'legacy';
  /** The referrer or `.sig` manifest, and the layer holding the signature. */
  manifest: Descriptor;
  layer: Descriptor;
  /** Keyless: the certificate's subject alternative name and OIDC issuer. */
  identity?: string;
  issuer?: string;
  /** Key-based: the key's Sigstore hint (base64 SHA-256 of its SubjectPublicKeyInfo). */
  keyHint?: string;
  /** Number of transparency-log entries verified. */
  tlogEntries: number;
  predicateType?: string;
}

interface Session {
  opts: VerifyArtifactOptions;
  trust: TrustMaterial;
  key?: KeyObject;
  verifier: Verifier;
  ref: string;
}

/**
 * Verifies that `<repository>@<digest>` carries a cosign signature satisfying `policy`, trying
 * cosign v3 bundles first, then the legacy `.sig` tag (spec falcoctl.md §14). Keyless signatures
 * need a trusted root: Fulcio chain, SCT and (unless `ignoreTlog`) a Rekor entry are checked
 * offline, then the certificate identity and issuer. Key-based signatures are checked with the
 * policy's public key; Rekor is required unless `ignoreTlog`.
 * @returns the first signature that passes.
 * @throws RulesctlError ERR_SIGNATURE naming the artifact, the policy and every candidate's
 *   reason; never passes silently.
 */
export async function verifyArtifact(opts: VerifyArtifactOptions): Promise<VerifiedSignature> {
  const log = opts.logger ?? nullLogger;
  const ref = `${opts.repository}@${opts.digest}`;
  log.info(`Verifying signature for artifact digest: ${opts.digest}`, { reference: ref });
  const session = await openSession(opts, ref);
  const found = await discoverSignatures({ target: opts.target, digest: opts.digest, referrers: opts.referrers, signal: opts.signal });
  if (found.candidates.length === 0) {
    throw refusal(session, `no signature found (looked for cosign bundles referring to it and the tags ${referrersTag(opts.digest)}, ${legacySignatureTag(opts.digest)})`, found.skipped, 'unsigned');
  }
  const reasons: string[] = [...found.skipped];
  let mismatchOnly = true;
  for (const candidate of found.candidates) {
    opts.signal?.throwIfAborted();
    try {
      const result = await verifyCandidate(session, candidate);
      log.info('Signature successfully verified!', { reference: ref, signature: candidateName(candidate) });
      return result;
    } catch (err) {
      if (!(err instanceof CandidateRefused)) throw err;
      if (!err.digestMismatch) mismatchOnly = false;
      reasons.push(`${candidateName(candidate)}: ${err.message}`);
    }
  }
  const headline = mismatchOnly ? 'digest mismatch: every signature found is for another digest' : 'no signature satisfies the policy';
  throw refusal(session, headline, reasons, mismatchOnly ? 'digest-mismatch' : 'rejected');
}

async function openSession(opts: VerifyArtifactOptions, ref: string): Promise<Session> {
  const { policy } = opts;
  if (policy.kind === 'keyless' && opts.trustedRoot === undefined) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, `cannot verify the signature of ${ref} (policy: ${describePolicy(policy)}): no Sigstore trusted root`, {
      hint: 'give a trusted_root.json or a Sigstore TUF cache, or pass --no-verify to skip verification',
      details: { reference: ref, policy: describePolicy(policy), reason: 'no-trusted-root' },
    });
  }
  if (policy.kind === 'key' && !policy.ignoreTlog && opts.trustedRoot === undefined) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, `cannot verify the signature of ${ref} (policy: ${describePolicy(policy)}): checking the Rekor entry needs a Sigstore trusted root`, {
      hint: 'give a trusted root, or set ignore-tlog: true in the policy for signatures made without Rekor',
      details: { reference: ref, policy: describePolicy(policy), reason: 'no-trusted-root' },
    });
  }
  const key = policy.kind === 'key' ? await loadPublicKey(policy.keyRef, { signal: opts.signal, readFile: opts.readFile }) : undefined;
  const finder: KeyFinderFunc | undefined = key && (() => ({ publicKey: key, validFor: () => true }));
  const trust = await loadTrustMaterial(opts.trustedRoot, finder, { signal: opts.signal, readFile: opts.readFile });
  const verifier = new Verifier(trust, { tlogThreshold: policy.ignoreTlog ? 0 : 1, ctlogThreshold: 1 });
  return key === undefined ? { opts, trust, verifier, ref } : { opts, trust, verifier, ref, key };
}

async function verifyCandidate(s: Session, candidate: SignatureCandidate): Promise<VerifiedSignature> {
  const { opts } = s;
  const hint = s.key && keyHint(s.key);
  const prepared = await prepareCandidate(candidate, {
    digest: opts.digest,
    ...(hint === undefined ? {} : { keyHint: hint }),
    manifestBytes: async () => (await opts.target.fetchManifest(opts.digest, { signal: opts.signal })).bytes,
  });
  const entity = toEntity(s, prepared);
  let signer: Signer;
  try {
    signer = s.verifier.verify(entity);
  } catch (err) {
    throw new CandidateRefused(`bad signature: ${(err as Error).message}`);
  }
  const base = { format: candidate.kind, manifest: candidate.manifest, layer: candidate.layer, tlogEntries: entity.tlogEntries.length };
  const extra = prepared.predicateType === undefined ? {} : { predicateType: prepared.predicateType };
  if (opts.policy.kind === 'key') return { ...base, ...extra, keyHint: hint! };
  const identity = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  const mismatch = checkIdentity(opts.policy, identity, issuer);
  if (mismatch !== undefined) throw new CandidateRefused(`identity mismatch: ${mismatch}`);
  return { ...base, ...extra, ...(identity === undefined ? {} : { identity }), ...(issuer === undefined ? {} : { issuer }) };
}

function toEntity(s: Session, prepared: PreparedSignature): SignedEntity {
  const { bundle } = prepared;
  const keyBased = bundle.verificationMaterial.content.$case === 'publicKey';
  if (s.opts.policy.kind === 'key' && !keyBased) throw new CandidateRefused('signed with a certificate (keyless), but the policy expects a key');
  if (s.opts.policy.kind === 'keyless' && keyBased) throw new CandidateRefused('signed with a key, but the policy expects a keyless certificate');
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(dropTlogIfIgnored(s, bundle), prepared.artifact);
  } catch (err) {
    throw new CandidateRefused(`unreadable verification material: ${(err as Error).message}`);
  }
  // @sigstore/verify checks a certificate chain only at the entity's timestamps: with none, refuse.
  if (!keyBased && entity.timestamps.length === 0) {
    throw new CandidateRefused('the keyless signature has no transparency-log entry or timestamp, so its certificate cannot be checked');
  }
  return entity;
}

/** cosign `--insecure-ignore-tlog` with a key skips Rekor entirely; keyless still needs them as timestamps. */
function dropTlogIfIgnored(s: Session, bundle: Bundle): Bundle {
  if (s.opts.policy.kind !== 'key' || !s.opts.policy.ignoreTlog) return bundle;
  return { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [] } };
}

function refusal(s: Session, headline: string, reasons: string[], reason: string): RulesctlError {
  const policy = describePolicy(s.opts.policy);
  const why = reasons.length > 0 ? `: ${reasons.join('; ')}` : '';
  return new RulesctlError(ErrorCodes.SIGNATURE, `error while verifying signature for ${s.ref} (policy: ${policy}): ${headline}${why}`, {
    hint: reason === 'unsigned'
      ? 'the artifact is not signed: ask its publisher, or pass --no-verify to install it unverified'
      : 'check the signature.cosign policy of the index entry against how the artifact was signed',
    details: { reference: s.ref, policy, reason, reasons },
  });
}
