import { createHash } from 'node:crypto';
import { ErrorCodes, RulesctlError } from '../errors.js';

/** image-spec descriptor.md. Field order here is the Go struct order falcoctl emits. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

/** image-spec image-index.md platform; falcoctl writes only architecture and os. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export const Annotations = {
  title: 'org.opencontainers.image.title',
  created: 'org.opencontainers.image.created',
  source: 'org.opencontainers.image.source',
  refName: 'org.opencontainers.image.ref.name',
} as const;

export type DigestAlgorithm = 'sha256' | 'sha512';
const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** Parses `alg:hex` (image-spec descriptor.md#digests); only sha256 and sha512 are accepted. */
export function parseDigest(digest: string): { algorithm: DigestAlgorithm; hex: string } {
  const m = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(digest);
  if (!m) {
    throw new RulesctlError(ErrorCodes.INVALID_DIGEST, `invalid digest "${digest}": expected "sha256:<64 hex>"`);
  }
  const algorithm = m[1] as DigestAlgorithm;
  const hex = m[2]!;
  const len = HEX_LENGTH[algorithm];
  if (len === undefined) {
    throw new RulesctlError(ErrorCodes.INVALID_DIGEST, `unsupported digest algorithm "${m[1]}" in "${digest}": use sha256 or sha512`);
  }
  if (hex.length !== len || !/^[a-f0-9]+$/.test(hex)) {
    throw new RulesctlError(ErrorCodes.INVALID_DIGEST, `invalid digest "${digest}": ${algorithm} needs ${len} lowercase hex characters`);
  }
  return { algorithm, hex };
}

export function isDigest(s: string): boolean {
  // No throw on the common path: every tag reference is checked here.
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(s);
  return m !== null && m[2]!.length === HEX_LENGTH[m[1] as DigestAlgorithm];
}

/** Digest of an in-memory buffer (manifests, configs: small by nature). */
export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Descriptor for bytes held in memory. */
export function descriptorFor(mediaType: string, data: Uint8Array, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: digestOf(data), size: data.byteLength, ...extra };
}
