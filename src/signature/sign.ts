import type { KeyObject } from 'node:crypto';
import { ErrorCodes, isRulesctlError } from '../errors.js';
import { descriptorFor, parseDigest, type Descriptor, type ImageIndex, type ImageManifest } from '../oci/descriptor.js';
import { MediaTypes, isIndexMediaType } from '../oci/media-types.js';
import type { OpOptions, Target } from '../oci/target.js';
import { keyHint, signBytes } from './keys.js';
import { buildSimpleSigningPayload } from './legacy.js';
import { COSIGN_SIGN_PREDICATE, CosignAnnotations, CosignMediaTypes, legacySignatureTag, referrersTag } from './media-types.js';

export type SignatureFormat = 'legacy' | 'bundle';

export interface SignArtifactOptions extends OpOptions {
  target: Target;
  /** `<registry>/<repository>`: the `docker-reference` of the simple-signing payload. */
  repository: string;
  /** The pushed root (manifest, or index for plugins). */
  digest: string;
  /** An EC P-256 private key from `loadSigningKey()`. */
  key: KeyObject;
  /** Default both: the cosign v2 `.sig` tag and the cosign v3 referrer bundle. */
  formats?: SignatureFormat[];
  /** Set when the registry serves the referrers API, so no `<alg>-<hex>` fallback index is written. */
  referrersApi?: boolean;
  now?: () => Date;
}

export interface SignResult {
  legacy?: { tag: string; manifest: Descriptor };
  bundle?: { manifest: Descriptor; fallbackTag?: string };
}

const EMPTY_CONFIG = Buffer.from('{}');

/**
 * Signs `<repository>@<digest>` with a key as cosign does without Rekor (`cosign sign --key …
 * --tlog-upload=false`), and pushes the signatures through `target` (spec falcoctl.md §5, §14;
 * cosign SIGNATURE_SPEC.md and BUNDLE_SPEC.md):
 * - legacy: a simple-signing payload layer with its ECDSA signature in the
 *   `dev.cosignproject.cosign/signature` annotation, appended to the `sha256-<hex>.sig` manifest;
 * - bundle: a v0.3 bundle with a DSSE in-toto statement (predicate `…/cosign/sign/v1`) in a
 *   referrer manifest whose `subject` is the root, listed in the `sha256-<hex>` fallback index
 *   (read, appended, written back: concurrent signers can race, as with every fallback client).
 * Verify with a `key` policy and `ignore-tlog: true`.
 */
export async function signArtifact(opts: SignArtifactOptions): Promise<SignResult> {
  const formats = opts.formats ?? ['legacy', 'bundle'];
  const subject = await opts.target.resolve(opts.digest, { signal: opts.signal });
  const result: SignResult = {};
  if (formats.includes('legacy')) result.legacy = await pushLegacySignature(opts);
  if (formats.includes('bundle')) result.bundle = await pushBundleSignature(opts, subject);
  return result;
}

async function pushLegacySignature(opts: SignArtifactOptions): Promise<NonNullable<SignResult['legacy']>> {
  const { target, signal } = opts;
  const payload = buildSimpleSigningPayload(opts.repository, opts.digest);
  const signature = signBytes(opts.key, payload).toString('base64');
  const layer = descriptorFor(CosignMediaTypes.simpleSigning, payload, { annotations: { [CosignAnnotations.signature]: signature } });
  const tag = legacySignatureTag(opts.digest);
  const existing = await fetchJson<ImageManifest>(target, tag, signal);
  const same = (l: Descriptor): boolean => l.digest === layer.digest && l.annotations?.[CosignAnnotations.signature] === signature;
  const layers = [...(existing?.layers ?? []).filter((l) => !same(l)), layer];
  const config = Buffer.from(JSON.stringify(signatureImageConfig(layers)));
  const configDesc = descriptorFor(CosignMediaTypes.imageConfig, config);
  await pushBlob(target, layer, payload, signal);
  await pushBlob(target, configDesc, config, signal);
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const desc = descriptorFor(MediaTypes.ociManifest, bytes);
  await target.pushManifest(desc, bytes, tag, { signal });
  return { tag, manifest: desc };
}

/** The image config cosign gives a `.sig` image: one diff_id and history entry per layer. */
function signatureImageConfig(layers: Descriptor[]): Record<string, unknown> {
  const zero = '0001-01-01T00:00:00Z';
  return {
    architecture: '',
    created: zero,
    history: layers.map(() => ({ created: zero })),
    os: '',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    config: {},
  };
}

async function pushBundleSignature(opts: SignArtifactOptions, subject: Descriptor): Promise<NonNullable<SignResult['bundle']>> {
  const { target, signal } = opts;
  const bundle = Buffer.from(JSON.stringify(buildDsseBundle(opts)));
  const layer = descriptorFor(CosignMediaTypes.bundleV03, bundle);
  const config = descriptorFor(MediaTypes.ociEmpty, EMPTY_CONFIG);
  await pushBlob(target, config, EMPTY_CONFIG, signal);
  await pushBlob(target, layer, bundle, signal);
  const annotations = {
    [CosignAnnotations.bundleContent]: 'dsse-envelope',
    [CosignAnnotations.bundlePredicateType]: COSIGN_SIGN_PREDICATE,
    'org.opencontainers.image.created': (opts.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: CosignMediaTypes.bundleV03,
    config,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const desc = descriptorFor(MediaTypes.ociManifest, bytes);
  await target.pushManifest(desc, bytes, undefined, { signal });
  if (opts.referrersApi === true) return { manifest: desc };
  const fallbackTag = await appendToFallbackIndex(target, opts.digest, { ...desc, annotations, artifactType: CosignMediaTypes.bundleV03 }, signal);
  return { manifest: desc, fallbackTag };
}

/** A v0.3 bundle: DSSE over the in-toto statement cosign v3 signs, key hint, no Rekor entry. */
function buildDsseBundle(opts: SignArtifactOptions): Record<string, unknown> {
  const { algorithm, hex } = parseDigest(opts.digest);
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: opts.repository, digest: { [algorithm]: hex } }],
    predicateType: COSIGN_SIGN_PREDICATE,
    predicate: {},
  };
  const payload = Buffer.from(JSON.stringify(statement));
  const signature = signBytes(opts.key, preAuthEncoding(CosignMediaTypes.inToto, payload));
  return {
    mediaType: CosignMediaTypes.bundleV03,
    verificationMaterial: { publicKey: { hint: keyHint(opts.key) }, tlogEntries: [] },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType: CosignMediaTypes.inToto,
      signatures: [{ sig: signature.toString('base64'), keyid: '' }],
    },
  };
}

/** DSSE v1 pre-authentication encoding: `DSSEv1 <len type> <type> <len body> <body>`. */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const head = `DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `;
  return Buffer.concat([Buffer.from(head, 'utf8'), payload]);
}

/** Referrers tag schema: pull `<alg>-<hex>`, append `entry` (deduplicated by digest), push back. */
async function appendToFallbackIndex(target: Target, digest: string, entry: Descriptor, signal?: AbortSignal): Promise<string> {
  const tag = referrersTag(digest);
  const existing = await fetchJson<ImageIndex>(target, tag, signal);
  const valid = existing !== undefined && isIndexMediaType(existing.mediaType) && Array.isArray(existing.manifests);
  const manifests = [...(valid ? existing.manifests : []).filter((d) => d.digest !== entry.digest), entry];
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests };
  const bytes = Buffer.from(JSON.stringify(index));
  await target.pushManifest(descriptorFor(MediaTypes.ociIndex, bytes), bytes, tag, { signal });
  return tag;
}

async function pushBlob(target: Target, desc: Descriptor, bytes: Buffer, signal?: AbortSignal): Promise<void> {
  if (await target.exists(desc, { signal })) return;
  await target.push(desc, bytes, { signal });
}

async function fetchJson<T>(target: Target, reference: string, signal?: AbortSignal): Promise<T | undefined> {
  try {
    const { bytes } = await target.fetchManifest(reference, { signal });
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    if (isRulesctlError(err, ErrorCodes.NOT_FOUND) || err instanceof SyntaxError) return undefined;
    throw err;
  }
}
