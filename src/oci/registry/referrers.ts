import { parseDigest, type Descriptor, type ImageIndex } from '../descriptor.js';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import { isIndexMediaType, MediaTypes } from '../media-types.js';
import type { OpOptions } from '../target.js';
import { fetchManifest, MAX_MANIFEST_BYTES } from './manifests.js';
import { readBody, send } from './request.js';
import { nextLink } from './tags.js';
import { pullScope, repoPath, type RepoContext } from './repo-context.js';

/**
 * The referrers tag of the fallback schema: `<alg>-<hex>` (alg truncated to 32, hex to 64
 * characters, invalid tag characters replaced by `-`).
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#referrers-tag-schema
 */
export function referrersTag(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm.slice(0, 32)}-${hex.slice(0, 64)}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

/**
 * Manifests that refer to `digest` (their `subject`), optionally filtered by `artifactType`. Uses
 * the referrers API; a 404 falls back to the tag schema, and a fallback tag that is absent or not an
 * index means none (registries.md §4.4).
 */
export async function listReferrers(repo: RepoContext, digest: string, artifactType?: string, opts: OpOptions = {}): Promise<Descriptor[]> {
  parseDigest(digest);
  const url = new URL(repoPath(repo, `referrers/${digest}`), repo.client.baseUrl(repo.registry));
  if (artifactType) url.searchParams.set('artifactType', artifactType);
  try {
    return await referrersApi(repo, url, artifactType, opts);
  } catch (err) {
    if ((err as RulesctlError).code !== ErrorCodes.NOT_FOUND) throw err;
  }
  return referrersFromTag(repo, digest, artifactType, opts);
}

async function referrersApi(repo: RepoContext, first: URL, artifactType: string | undefined, opts: OpOptions): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  let url: URL | undefined = first;
  for (let page = 0; url && page < 100; page++) {
    const res = await send(repo.client, repo.registry, {
      method: 'GET', url, headers: { accept: MediaTypes.ociIndex }, scopes: pullScope(repo),
      action: `listing referrers in ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const index = parseIndex(repo, await readBody(res, MAX_MANIFEST_BYTES, `referrers of ${repo.name}`));
    const filtered = String(res.headers['oci-filters-applied'] ?? '').split(',').map((s) => s.trim()).includes('artifactType');
    out.push(...(filtered ? index.manifests : filter(index.manifests, artifactType)));
    const next = nextLink(res.headers['link']);
    url = next ? new URL(next, res.url) : undefined;
  }
  return out;
}

async function referrersFromTag(repo: RepoContext, digest: string, artifactType: string | undefined, opts: OpOptions): Promise<Descriptor[]> {
  let fetched;
  try {
    fetched = await fetchManifest(repo, referrersTag(digest), opts);
  } catch (err) {
    if ((err as RulesctlError).code === ErrorCodes.NOT_FOUND) return [];
    throw err;
  }
  if (!isIndexMediaType(fetched.descriptor.mediaType)) return [];
  try {
    return filter(parseIndex(repo, fetched.bytes).manifests, artifactType);
  } catch {
    return [];
  }
}

function filter(list: Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType ? list.filter((d) => d.artifactType === artifactType) : list;
}

function parseIndex(repo: RepoContext, bytes: Buffer): ImageIndex {
  try {
    const index = JSON.parse(bytes.toString('utf8')) as ImageIndex;
    if (!Array.isArray(index.manifests)) throw new Error('no manifests list');
    return index;
  } catch (err) {
    throw new RulesctlError(ErrorCodes.INVALID_INDEX, `referrers of ${repo.name}: not an OCI index (${(err as Error).message})`);
  }
}
