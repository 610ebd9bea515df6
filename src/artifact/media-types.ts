import { ErrorCodes, RulesctlError } from '../errors.js';

/**
 * Falco artifact types and their media types (falcoctl.md §1; falcoctl pkg/oci/{constants,types}.go).
 */
export type ArtifactType = 'rulesfile' | 'plugin' | 'asset';

export const ARTIFACT_TYPES: readonly ArtifactType[] = ['rulesfile', 'plugin', 'asset'];

export const FalcoMediaTypes = {
  rulesfile: {
    config: 'application/vnd.cncf.falco.rulesfile.config.v1+json',
    layer: 'application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz',
  },
  plugin: {
    config: 'application/vnd.cncf.falco.plugin.config.v1+json',
    layer: 'application/vnd.cncf.falco.plugin.layer.v1+tar.gz',
  },
  asset: {
    config: 'application/vnd.cncf.falco.asset.config.v1+json',
    layer: 'application/vnd.cncf.falco.asset.layer.v1+tar.gz',
  },
} as const satisfies Record<ArtifactType, { config: string; layer: string }>;

/** falcoctl's message for a bad `--type` / `--allowed-types` / `artifact.allowedTypes` value. */
export const TYPE_CHOICES_MESSAGE = 'must be one of "rulesfile", "plugin", "asset"';

/** True for `rulesfile`, `plugin` and `asset`. */
export function isArtifactType(v: string): v is ArtifactType {
  return (ARTIFACT_TYPES as readonly string[]).includes(v);
}

/** Parses one type name; throws ERR_USAGE with falcoctl's text otherwise. */
export function parseArtifactType(v: string): ArtifactType {
  if (!isArtifactType(v)) {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid artifact type "${v}": ${TYPE_CHOICES_MESSAGE}`);
  }
  return v;
}

/**
 * Parses a comma list of types (`--allowed-types rulesfile,plugin`), falcoctl's ArtifactTypeSlice.Set:
 * the whole value must match `^([^,]+)(,[^,]+)*$`, then each token must be a known type.
 */
export function parseAllowedTypes(v: string): ArtifactType[] {
  if (!/^([^,]+)(,[^,]+)*$/.test(v)) {
    throw new RulesctlError(ErrorCodes.USAGE, `"${v}" is not a valid comma separated string`);
  }
  return v.split(',').map((token) => {
    if (!isArtifactType(token)) {
      throw new RulesctlError(ErrorCodes.USAGE, `not valid token "${token}": ${TYPE_CHOICES_MESSAGE}`);
    }
    return token;
  });
}

/**
 * The artifact type of a manifest, taken only from `layers[0].mediaType` (falcoctl.md §1).
 * Throws ERR_UNKNOWN_ARTIFACT `unknown media type: "<mt>"` for anything else.
 */
export function artifactTypeOfLayer(mediaType: string): ArtifactType {
  for (const t of ARTIFACT_TYPES) {
    if (FalcoMediaTypes[t].layer === mediaType) return t;
  }
  throw new RulesctlError(ErrorCodes.UNKNOWN_ARTIFACT, `unknown media type: ${goQuote(mediaType)}`);
}

/** falcoctl's HumanReadableMediaType: the type name for a known layer media type, else the input. */
export function humanReadableMediaType(mediaType: string): string {
  for (const t of ARTIFACT_TYPES) {
    if (FalcoMediaTypes[t].layer === mediaType) return t;
  }
  return mediaType;
}

/**
 * falcoctl's CheckAllowedType: an empty list allows everything; otherwise layers[0]'s media type must
 * be one of the allowed types' layer types, else ERR_TYPE_NOT_ALLOWED
 * `cannot download artifact of type "<type>": type not permitted` (falcoctl.md §15).
 */
export function checkAllowedType(layerMediaType: string, allowed: readonly ArtifactType[] | undefined): void {
  if (!allowed || allowed.length === 0) return;
  if (allowed.some((t) => FalcoMediaTypes[t].layer === layerMediaType)) return;
  throw new RulesctlError(
    ErrorCodes.TYPE_NOT_ALLOWED,
    `cannot download artifact of type ${goQuote(humanReadableMediaType(layerMediaType))}: type not permitted`,
    { hint: `allow it with --allowed-types (currently: ${allowed.join(',')})`, details: { allowed: [...allowed] } },
  );
}

/** Go's `%q` for printable strings (JSON quoting is close enough for messages). */
function goQuote(s: string): string {
  return JSON.stringify(s);
}
