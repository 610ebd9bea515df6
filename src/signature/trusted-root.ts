import { readFile as fsReadFile } from 'node:fs/promises';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { getTrustedRoot } from '@sigstore/tuf';
import { toTrustMaterial, type KeyFinderFunc, type TrustMaterial } from '@sigstore/verify';
import { ErrorCodes, RulesctlError } from '../errors.js';

/**
 * Where the Sigstore trusted root (Fulcio CAs, Rekor and CT log keys) comes from:
 * - `file`: a `trusted_root.json` (cosign `--trusted-root`; what `SIGSTORE_ROOT_FILE`-style
 *   settings should point at), read offline;
 * - `json`: the same document, already parsed;
 * - `tuf`: a Sigstore TUF cache directory (`@sigstore/tuf` layout). With `forceCache` it is read
 *   offline; otherwise metadata is refreshed from `mirrorURL` (default the Sigstore CDN) through
 *   @sigstore/tuf's own HTTP client, which does not use rulesctl's dispatcher or proxy settings.
 */
export type TrustedRootSource =
  | { file: string }
  | { json: unknown }
  | { tuf: { cachePath: string; mirrorURL?: string; forceCache?: boolean } };

export interface TrustOptions {
  signal?: AbortSignal;
  readFile?: (path: string, opts: { signal?: AbortSignal }) => Promise<Buffer | string>;
}

const EMPTY_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

/**
 * Builds the verifier's trust material from `source` (none: an empty root, enough only for
 * key-based verification without Rekor). `keys` answers public-key hints (key-based policies).
 * @throws RulesctlError ERR_SIGNATURE when the root cannot be read or parsed.
 */
export async function loadTrustMaterial(source: TrustedRootSource | undefined, keys: KeyFinderFunc | undefined, opts: TrustOptions = {}): Promise<TrustMaterial> {
  const root = source === undefined ? TrustedRoot.fromJSON(EMPTY_ROOT) : await readRoot(source, opts);
  return toTrustMaterial(root, keys);
}

async function readRoot(source: TrustedRootSource, opts: TrustOptions): Promise<TrustedRoot> {
  const where = 'file' in source ? `file "${source.file}"` : 'json' in source ? 'document' : `TUF cache "${source.tuf.cachePath}"`;
  try {
    if ('tuf' in source) {
      return await getTrustedRoot({ cachePath: source.tuf.cachePath, mirrorURL: source.tuf.mirrorURL, forceCache: source.tuf.forceCache ?? false });
    }
    let doc: unknown;
    if ('json' in source) doc = source.json;
    else {
      const readFile = opts.readFile ?? ((p: string, o: { signal?: AbortSignal }) => fsReadFile(p, o.signal ? { signal: o.signal } : {}));
      doc = JSON.parse((await readFile(source.file, { signal: opts.signal })).toString());
    }
    const mt = (doc as { mediaType?: unknown } | null)?.mediaType;
    if (typeof mt !== 'string' || !mt.startsWith('application/vnd.dev.sigstore.trustedroot')) {
      throw new Error(`mediaType is ${JSON.stringify(mt)}, not a Sigstore trusted root`);
    }
    return TrustedRoot.fromJSON(doc);
  } catch (err) {
    throw new RulesctlError(ErrorCodes.SIGNATURE, `cannot load the Sigstore trusted root from ${where}: ${(err as Error).message}`, {
      cause: err,
      hint: 'give a trusted_root.json (e.g. from `cosign trusted-root create` or the Sigstore TUF repository)',
    });
  }
}
