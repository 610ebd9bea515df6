import type { SerializedBundle } from '@sigstore/bundle';
import { bundleFromJSON } from '@sigstore/bundle';
import type { Bundle } from '@sigstore/bundle';
import { parseDigest } from '../oci/descriptor.js';
import type { BundleCandidate, LegacyCandidate, SignatureCandidate } from './discover.js';
import { legacyToBundle, parseSimpleSigningPayload } from './legacy.js';
import { CosignMediaTypes, SIMPLE_SIGNING_TYPE } from './media-types.js';

/** A candidate turned into a Sigstore bundle plus the bytes its signature covers. */
export interface PreparedSignature {
  bundle: Bundle;
  /** The signed bytes for message signatures (payload or manifest); unset for DSSE. */
  artifact?: Buffer;
  /** For DSSE in-toto statements. */
  predicateType?: string;
}

/** A refusal of one candidate; `digestMismatch` marks "signed, but for another digest". */
export class CandidateRefused extends Error {
  constructor(
    message: string,
    readonly digestMismatch = false,
  ) {
    super(message);
  }
}

export interface PrepareContext {
  digest: string;
  keyHint?: string;
  /** The bytes of the signed manifest, for message-signature bundles over the manifest itself. */
  manifestBytes: () => Promise<Buffer>;
}

/** Short name of a candidate for messages: `bundle sha256:… ` or `sha256-….sig layer sha256:…`. */
export function candidateName(c: SignatureCandidate): string {
  return c.kind === 'bundle' ? `bundle ${c.manifest.digest}` : `${c.tag} layer ${c.layer.digest}`;
}

/**
 * Checks what a candidate claims to sign (the DSSE statement subject, the message digest or the
 * simple-signing `docker-manifest-digest`) against `ctx.digest`, and returns what the
 * cryptographic verifier needs. @throws CandidateRefused.
 */
export async function prepareCandidate(c: SignatureCandidate, ctx: PrepareContext): Promise<PreparedSignature> {
  return c.kind === 'bundle' ? prepareBundle(c, ctx) : prepareLegacy(c, ctx);
}

function prepareLegacy(c: LegacyCandidate, ctx: PrepareContext): PreparedSignature {
  const claims = parseSimpleSigningPayload(c.payload);
  if (claims === undefined) throw new CandidateRefused('payload is not a cosign simple-signing document');
  if (claims.type !== SIMPLE_SIGNING_TYPE) throw new CandidateRefused(`payload type is "${claims.type}", not "${SIMPLE_SIGNING_TYPE}"`);
  if (claims.digest !== ctx.digest) throw new CandidateRefused(`the signature is for ${claims.digest}, not ${ctx.digest}`, true);
  let serialized: SerializedBundle;
  try {
    serialized = legacyToBundle(c.payload, c.layer.annotations ?? {}, ctx.keyHint);
  } catch (err) {
    throw new CandidateRefused(`malformed signature annotations: ${(err as Error).message}`);
  }
  return { bundle: parseBundle(serialized), artifact: c.payload };
}

async function prepareBundle(c: BundleCandidate, ctx: PrepareContext): Promise<PreparedSignature> {
  const bundle = parseBundle(c.json as SerializedBundle);
  const { hex } = parseDigest(ctx.digest);
  if (bundle.content.$case === 'dsseEnvelope') {
    const env = bundle.content.dsseEnvelope;
    if (env.payloadType !== CosignMediaTypes.inToto) throw new CandidateRefused(`DSSE payload type is "${env.payloadType}", not an in-toto statement`);
    const statement = parseStatement(env.payload);
    const subjects = statement.subject ?? [];
    const algorithm = ctx.digest.slice(0, ctx.digest.indexOf(':'));
    if (!subjects.some((s) => s.digest?.[algorithm]?.toLowerCase() === hex)) {
      const other = subjects.map((s) => Object.entries(s.digest ?? {}).map(([a, h]) => `${a}:${h}`).join(',')).join(' ');
      throw new CandidateRefused(`the signature is for ${other || 'no subject'}, not ${ctx.digest}`, true);
    }
    return typeof statement.predicateType === 'string' ? { bundle, predicateType: statement.predicateType } : { bundle };
  }
  const signed = bundle.content.messageSignature.messageDigest?.digest.toString('hex');
  if (signed !== hex) throw new CandidateRefused(`the signature is for sha256:${signed ?? '?'}, not ${ctx.digest}`, true);
  return { bundle, artifact: await ctx.manifestBytes() };
}

function parseBundle(json: SerializedBundle): Bundle {
  try {
    return bundleFromJSON(json);
  } catch (err) {
    const fields = (err as { fields?: string[] }).fields;
    throw new CandidateRefused(`not a valid Sigstore bundle: ${(err as Error).message}${fields ? ` (${fields.join(', ')})` : ''}`);
  }
}

interface InTotoStatement {
  subject?: { name?: string; digest?: Record<string, string> }[];
  predicateType?: unknown;
}

function parseStatement(payload: Buffer): InTotoStatement {
  try {
    const doc = JSON.parse(payload.toString('utf8')) as unknown;
    if (typeof doc === 'object' && doc !== null) return doc as InTotoStatement;
  } catch {
    // fall through
  }
  throw new CandidateRefused('DSSE payload is not a JSON in-toto statement');
}
