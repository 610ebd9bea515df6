import { Annotations, type Descriptor, type Platform } from '../oci/descriptor.js';
import { MediaTypes } from '../oci/media-types.js';
import { goJsonBytes, goMap, type GoJsonValue } from './go-json.js';

/**
 * The manifest and index documents falcoctl pushes, encoded byte for byte as Go's json.Marshal of the
 * image-spec v1.1 structs (falcoctl.md §1): manifest `schemaVersion, mediaType, config, layers,
 * annotations`; index `schemaVersion, mediaType, manifests, annotations`; descriptor `mediaType, digest,
 * size, [urls], annotations, [data], platform, artifactType`; platform `architecture, os`.
 */
export function descriptorJson(d: Descriptor): GoJsonValue {
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    urls: d.urls?.length ? d.urls : undefined,
    annotations: goMap(d.annotations),
    data: d.data || undefined,
    platform: d.platform ? platformJson(d.platform) : undefined,
    artifactType: d.artifactType || undefined,
  };
}

function platformJson(p: Platform): GoJsonValue {
  return {
    architecture: p.architecture,
    os: p.os,
    'os.version': p['os.version'] || undefined,
    'os.features': p['os.features']?.length ? p['os.features'] : undefined,
    variant: p.variant || undefined,
  };
}

export interface ManifestInput {
  config: Descriptor;
  layer: Descriptor;
  /** `org.opencontainers.image.created` (RFC 3339, seconds, UTC). */
  created: string;
  annotationSource?: string;
}

/** Manifest bytes: one config, one layer, `created` and optional `source` annotations. */
export function encodeManifest(m: ManifestInput): Buffer {
  return goJsonBytes({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: descriptorJson(m.config),
    layers: [descriptorJson(m.layer)],
    annotations: goMap(manifestAnnotations(m.created, m.annotationSource)),
  });
}

/** Manifest annotations: `created` always, `source` only when given (falcoctl.md §1). */
export function manifestAnnotations(created: string, source?: string): Record<string, string> {
  return { [Annotations.created]: created, ...(source ? { [Annotations.source]: source } : {}) };
}

/** Index bytes: the per-platform manifest descriptors, and only the `source` annotation. */
export function encodeIndex(manifests: Descriptor[], annotationSource?: string): Buffer {
  return goJsonBytes({
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: manifests.map(descriptorJson),
    annotations: goMap(annotationSource ? { [Annotations.source]: annotationSource } : undefined),
  });
}

/**
 * The RFC 3339 UTC seconds timestamp oras writes (`2025-05-12T13:02:56Z`) for a Unix time in seconds,
 * e.g. from SOURCE_DATE_EPOCH (read by the caller).
 */
export function createdFromEpoch(seconds: number): string {
  return new Date(Math.trunc(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
