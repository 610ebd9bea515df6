import { ErrorCodes, RulesctlError } from '../errors.js';

/**
 * The `signature.cosign` block of a falcoctl index entry, with the YAML keys falcoctl reads
 * (falcoctl `pkg/index/index/index.go` `CosignSignature`; spec falcoctl.md §8, §14).
 */
export interface CosignIndexSignature {
  'certificate-oidc-issuer'?: string;
  'certificate-oidc-issuer-regexp'?: string;
  'certificate-identity'?: string;
  'certificate-identity-regexp'?: string;
  /** Read and kept, never enforced: falcoctl does not use it either (§14). */
  'certificate-github-workflow'?: string;
  /** cosign `--key`: a path to a PEM public key (rulesctl also takes the PEM inline). */
  key?: string;
  'ignore-tlog'?: boolean;
}

/** What a signature must satisfy, normalised from a {@link CosignIndexSignature}. */
export type SignaturePolicy = KeylessPolicy | KeyPolicy;

export interface KeylessPolicy {
  kind: 'keyless';
  identity?: string;
  identityRegexp?: RegExp;
  issuer?: string;
  issuerRegexp?: RegExp;
  /** Skip the Rekor inclusion requirement (`ignore-tlog`). */
  ignoreTlog: boolean;
  /** Unused, kept for messages and round trips. */
  githubWorkflow?: string;
}

export interface KeyPolicy {
  kind: 'key';
  /** The `key` value as written: inline PEM or a path, resolved by `loadPolicyKey()`. */
  keyRef: string;
  ignoreTlog: boolean;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function compile(field: string, source: string | undefined): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    // cosign uses Go regexp.MatchString: an unanchored search, as RegExp.test() does.
    return new RegExp(source);
  } catch (err) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, `invalid signature policy: ${field} "${source}" is not a valid regular expression`, {
      cause: err,
      hint: 'fix the signature.cosign block of the index entry',
    });
  }
}

/**
 * Maps an index entry's `signature.cosign` block to a policy, as falcoctl maps it to cosign flags
 * (spec falcoctl.md §14): `key` selects key-based verification; otherwise keyless, which, as in
 * cosign, needs an identity (exact or regexp) and an OIDC issuer (exact or regexp).
 * Returns `undefined` for a missing block (no verification, §14).
 * @throws RulesctlError ERR_SIGNATURE when the block cannot express a policy.
 */
export function parseCosignPolicy(block: CosignIndexSignature | null | undefined): SignaturePolicy | undefined {
  if (block === null || block === undefined) return undefined;
  if (typeof block !== 'object') {
    throw new RulesctlError(ErrorCodes.SIGNATURE, 'invalid signature policy: signature.cosign must be a mapping');
  }
  const ignoreTlog = block['ignore-tlog'] === true;
  const key = str(block.key);
  if (key !== undefined) return { kind: 'key', keyRef: key, ignoreTlog };
  const policy: KeylessPolicy = { kind: 'keyless', ignoreTlog };
  const set = <K extends keyof KeylessPolicy>(k: K, v: KeylessPolicy[K] | undefined): void => {
    if (v !== undefined) policy[k] = v;
  };
  set('identity', str(block['certificate-identity']));
  set('identityRegexp', compile('certificate-identity-regexp', str(block['certificate-identity-regexp'])));
  set('issuer', str(block['certificate-oidc-issuer']));
  set('issuerRegexp', compile('certificate-oidc-issuer-regexp', str(block['certificate-oidc-issuer-regexp'])));
  set('githubWorkflow', str(block['certificate-github-workflow']));
  if (policy.identity === undefined && policy.identityRegexp === undefined) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, 'invalid signature policy: keyless verification needs certificate-identity or certificate-identity-regexp', {
      hint: 'set one of them (or key) in the signature.cosign block of the index entry',
    });
  }
  if (policy.issuer === undefined && policy.issuerRegexp === undefined) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, 'invalid signature policy: keyless verification needs certificate-oidc-issuer or certificate-oidc-issuer-regexp', {
      hint: 'set one of them (or key) in the signature.cosign block of the index entry',
    });
  }
  return policy;
}

/** A regexp as the user wrote it (V8's `source` escapes `/`). */
function pattern(re: RegExp): string {
  return re.source.replace(/\\\//g, '/');
}

/** One line for messages: `identity ~ /…/, issuer = …` or `key cosign.pub` (never the key bytes). */
export function describePolicy(policy: SignaturePolicy): string {
  const tlog = policy.ignoreTlog ? ', ignore-tlog' : '';
  if (policy.kind === 'key') {
    const ref = policy.keyRef.trimStart().startsWith('-----BEGIN') ? 'inline PEM public key' : policy.keyRef;
    return `key ${ref}${tlog}`;
  }
  const identity = policy.identity !== undefined ? `identity = ${policy.identity}` : `identity ~ /${pattern(policy.identityRegexp!)}/`;
  const issuer = policy.issuer !== undefined ? `issuer = ${policy.issuer}` : `issuer ~ /${pattern(policy.issuerRegexp!)}/`;
  return `keyless ${identity}, ${issuer}${tlog}`;
}

/** Whether a certificate identity/issuer pair satisfies a keyless policy; returns the reason when not. */
export function checkIdentity(policy: KeylessPolicy, identity: string | undefined, issuer: string | undefined): string | undefined {
  if (identity === undefined) return 'the certificate has no subject alternative name';
  if (policy.identity !== undefined && identity !== policy.identity) return `certificate identity "${identity}" is not "${policy.identity}"`;
  if (policy.identityRegexp !== undefined && !policy.identityRegexp.test(identity)) {
    return `certificate identity "${identity}" does not match /${pattern(policy.identityRegexp)}/`;
  }
  if (issuer === undefined) return 'the certificate has no OIDC issuer extension';
  if (policy.issuer !== undefined && issuer !== policy.issuer) return `certificate issuer "${issuer}" is not "${policy.issuer}"`;
  if (policy.issuerRegexp !== undefined && !policy.issuerRegexp.test(issuer)) {
    return `certificate issuer "${issuer}" does not match /${pattern(policy.issuerRegexp)}/`;
  }
  return undefined;
}
