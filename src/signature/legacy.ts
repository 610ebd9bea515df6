import { X509Certificate, createHash } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import { CosignAnnotations, SIMPLE_SIGNING_TYPE } from './media-types.js';

/** The fields of a cosign simple-signing payload that verification reads (SIGNATURE_SPEC.md "Simple Signing"). */
export interface SimpleSigningClaims {
  digest: string;
  type: string;
  dockerReference: string | undefined;
}

/**
 * The payload cosign v2 signs for `<repository>@<digest>`, byte for byte as Go marshals
 * `payload.Cosign` without annotations: `{"critical":{…},"optional":null}`.
 */
export function buildSimpleSigningPayload(repository: string, digest: string): Buffer {
  const payload = {
    critical: {
      identity: { 'docker-reference': repository },
      image: { 'docker-manifest-digest': digest },
      type: SIMPLE_SIGNING_TYPE,
    },
    optional: null,
  };
  return Buffer.from(JSON.stringify(payload), 'utf8');
}

/**
 * Reads the claims of a simple-signing payload. Keys are matched case-insensitively, as Go's
 * `encoding/json` does (the spec's own example writes `Docker-manifest-digest`).
 * Returns `undefined` when the payload is not one.
 */
export function parseSimpleSigningPayload(bytes: Uint8Array): SimpleSigningClaims | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  const critical = field(doc, 'critical');
  const digest = field(field(critical, 'image'), 'docker-manifest-digest');
  const type = field(critical, 'type');
  const ref = field(field(critical, 'identity'), 'docker-reference');
  if (typeof digest !== 'string' || typeof type !== 'string') return undefined;
  return { digest, type, dockerReference: typeof ref === 'string' ? ref : undefined };
}

function field(obj: unknown, name: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const lower = name.toLowerCase();
  const key = Object.keys(obj).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : (obj as Record<string, unknown>)[key];
}

/** cosign's `dev.sigstore.cosign/bundle` annotation: a Rekor entry with its signed timestamp. */
interface RekorBundleAnnotation {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

/**
 * Re-expresses one legacy `.sig` layer (payload, signature, certificate and Rekor bundle
 * annotations) as a v0.1 Sigstore bundle, so one verifier checks both formats. `keyHint` stands in
 * for the certificate in key-based signatures. Throws an `Error` on malformed annotations; the
 * caller turns it into a refusal reason.
 */
export function legacyToBundle(payload: Uint8Array, annotations: Record<string, string>, keyHintValue?: string): SerializedBundle {
  const signature = annotations[CosignAnnotations.signature];
  if (signature === undefined || signature === '') throw new Error(`layer has no ${CosignAnnotations.signature} annotation`);
  const certPem = annotations[CosignAnnotations.certificate];
  let verificationContent: Record<string, unknown>;
  if (certPem !== undefined && certPem !== '') {
    const chain = splitPem(annotations[CosignAnnotations.chain] ?? '');
    const certs = [new X509Certificate(certPem), ...chain.map((p) => new X509Certificate(p))];
    verificationContent = { x509CertificateChain: { certificates: certs.map((c) => ({ rawBytes: c.raw.toString('base64') })) } };
  } else {
    verificationContent = { publicKey: { hint: keyHintValue ?? '' } };
  }
  const rekor = annotations[CosignAnnotations.bundle];
  const tlogEntries = rekor !== undefined && rekor !== '' ? [rekorEntry(JSON.parse(rekor) as RekorBundleAnnotation)] : [];
  const json = {
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: { ...verificationContent, tlogEntries },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(payload).digest('base64') },
      signature,
    },
  };
  return json as unknown as SerializedBundle;
}

function rekorEntry(b: RekorBundleAnnotation): Record<string, unknown> {
  const body = JSON.parse(Buffer.from(b.Payload.body, 'base64').toString('utf8')) as { kind?: string; apiVersion?: string };
  return {
    logIndex: String(b.Payload.logIndex),
    logId: { keyId: Buffer.from(b.Payload.logID, 'hex').toString('base64') },
    kindVersion: { kind: body.kind ?? '', version: body.apiVersion ?? '' },
    integratedTime: String(b.Payload.integratedTime),
    inclusionPromise: { signedEntryTimestamp: b.SignedEntryTimestamp },
    canonicalizedBody: b.Payload.body,
  };
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
