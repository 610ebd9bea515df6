/**
 * cosign's media types, annotations and tag names (cosign `specs/SIGNATURE_SPEC.md`,
 * `specs/BUNDLE_SPEC.md`, `pkg/oci/static`, `pkg/oci/remote/write.go`; spec falcoctl.md §5, §14).
 */
export const CosignMediaTypes = {
  /** Layer of a legacy `.sig` manifest: the simple-signing payload. */
  simpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  /** Config of a legacy `.sig` manifest. */
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  /** artifactType of a cosign v3 referrer manifest, and its layer media type. */
  bundleV03: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  inToto: 'application/vnd.in-toto+json',
} as const;

export const CosignAnnotations = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  rfc3161Timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
  bundleContent: 'dev.sigstore.bundle.content',
  bundlePredicateType: 'dev.sigstore.bundle.predicateType',
} as const;

/** The in-toto predicate cosign v3 `sign` puts in its DSSE statement. */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
/** `critical.type` of a cosign simple-signing payload. */
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';

/** Whether a media type names any Sigstore bundle version (cosign matches the prefix). */
export function isBundleMediaType(mt: string | undefined): boolean {
  return mt !== undefined && mt.startsWith('application/vnd.dev.sigstore.bundle');
}

/** `sha256:<hex>` → `sha256-<hex>.sig`, cosign's legacy signature tag. */
export function legacySignatureTag(digest: string): string {
  return `${referrersTag(digest)}.sig`;
}

/**
 * `alg:hex` → the OCI referrers tag schema `<alg>-<hex>` (distribution-spec "Referrers tag
 * schema"): algorithm truncated to 32 characters, hex to 64, other characters replaced by `-`.
 */
export function referrersTag(digest: string): string {
  const i = digest.indexOf(':');
  const clean = (s: string): string => s.replace(/[^a-zA-Z0-9_.-]/g, '-');
  return `${clean(digest.slice(0, i)).slice(0, 32)}-${clean(digest.slice(i + 1)).slice(0, 64)}`;
}
