import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDigest, parseDigest, type Descriptor } from '../descriptor.js';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import { MANIFEST_ACCEPT, MediaTypes } from '../media-types.js';
import type { OpOptions } from '../target.js';
import { joinSignals, readBody, send } from './request.js';
import { backoffDelay, isRetryableError } from './retry.js';
import { deleteScope, pullScope, pushScope, repoPath, type RepoContext } from './repo-context.js';
import type { RawResponse } from './transport.js';

/** Largest manifest read (distribution accepts ≥ 4 MiB; registries.md §4.3). */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
const ACCEPT = MANIFEST_ACCEPT.join(', ');

function mediaTypeOf(res: RawResponse): string {
  return String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
}

function headerDigest(res: RawResponse): string | undefined {
  const v = res.headers['docker-content-digest'];
  return typeof v === 'string' && v ? v : undefined;
}

function computeDigest(bytes: Uint8Array, like?: string): string {
  const algorithm = like && isDigest(like) ? parseDigest(like).algorithm : 'sha256';
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

function mismatch(repo: RepoContext, what: string, expected: string, actual: string): RulesctlError {
  return new RulesctlError(ErrorCodes.DIGEST_MISMATCH, `manifest ${what} of ${repo.name}: expected ${expected}, got ${actual}`, {
    hint: 'the registry served different bytes than announced; retry, and report it if it persists',
    details: { expected, actual },
  });
}

/**
 * GET a manifest by tag, digest or descriptor, with the full Accept list. Verifies the bytes against
 * the requested digest and `Docker-Content-Digest`, and the body's `mediaType` against
 * `Content-Type`. https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests
 */
export async function fetchManifest(repo: RepoContext, reference: string | Descriptor, opts: OpOptions = {}): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
  const ref = typeof reference === 'string' ? reference : reference.digest;
  const { res, bytes } = await getManifestBytes(repo, ref, opts);
  const expected = isDigest(ref) ? ref : undefined;
  const digest = computeDigest(bytes, expected ?? headerDigest(res));
  if (expected && digest !== expected) throw mismatch(repo, `"${ref}"`, expected, digest);
  const announced = headerDigest(res);
  if (announced && isDigest(announced) && parseDigest(announced).algorithm === parseDigest(digest).algorithm && announced !== digest) {
    throw mismatch(repo, `"${ref}" (Docker-Content-Digest)`, announced, digest);
  }
  if (typeof reference !== 'string' && reference.size !== bytes.length) {
    throw new RulesctlError(ErrorCodes.SIZE_MISMATCH, `manifest ${ref} of ${repo.name} has ${bytes.length} bytes, expected ${reference.size}`, {
      details: { expected: reference.size, actual: bytes.length },
    });
  }
  const mediaType = checkMediaType(repo, ref, mediaTypeOf(res), bytes);
  return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
}

/**
 * GET and read the body; a connection cut while the body is read (reset, truncated Content-Length)
 * is retried like a failed request, within the client's attempts (a manifest is small, a full re-GET).
 */
async function getManifestBytes(repo: RepoContext, ref: string, opts: OpOptions): Promise<{ res: RawResponse; bytes: Buffer }> {
  const policy = repo.client.retry;
  for (let retry = 0; ; retry++) {
    const res = await send(repo.client, repo.registry, {
      method: 'GET', url: repoPath(repo, `manifests/${ref}`), headers: { accept: ACCEPT }, scopes: pullScope(repo),
      action: `fetching manifest "${ref}" of ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
    });
    try {
      return { res, bytes: await readBody(res, MAX_MANIFEST_BYTES, `manifest "${ref}" of ${repo.name}`) };
    } catch (err) {
      if (retry + 1 >= policy.attempts || !isRetryableError(err)) throw err;
      const waitMs = backoffDelay(retry, policy, repo.client.random);
      repo.client.logger.debug('retrying registry request', { method: 'GET', why: 'body cut', waitMs });
      const signal = joinSignals(opts.signal, repo.client.signal);
      await sleep(waitMs, undefined, signal ? { signal } : {}).catch((e: unknown) => {
        throw new RulesctlError(ErrorCodes.ABORTED, `fetching manifest "${ref}" of ${repo.name}: aborted`, { cause: e });
      });
    }
  }
}

function checkMediaType(repo: RepoContext, ref: string, contentType: string, bytes: Buffer): string {
  let body: { mediaType?: unknown; manifests?: unknown; config?: unknown };
  try {
    body = JSON.parse(bytes.toString('utf8')) as typeof body;
  } catch {
    throw new RulesctlError(ErrorCodes.INVALID_MANIFEST, `manifest "${ref}" of ${repo.name} is not JSON`);
  }
  const declared = typeof body?.mediaType === 'string' ? body.mediaType : undefined;
  if (declared && contentType && declared !== contentType && contentType !== 'application/json') {
    throw new RulesctlError(ErrorCodes.INVALID_MANIFEST, `manifest "${ref}" of ${repo.name}: Content-Type ${contentType} disagrees with mediaType ${declared}`);
  }
  if (declared) return declared;
  if (contentType && contentType !== 'application/json') return contentType;
  // Neither says: image-spec manifests carry `config`, indexes `manifests`.
  return Array.isArray(body?.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
}

/**
 * HEAD a manifest: descriptor from `Docker-Content-Digest`, `Content-Length`, `Content-Type`; when
 * the registry omits the digest, GETs and computes it (registries.md §4.2).
 */
export async function resolveManifest(repo: RepoContext, reference: string, opts: OpOptions = {}): Promise<Descriptor> {
  const res = await send(repo.client, repo.registry, {
    method: 'HEAD', url: repoPath(repo, `manifests/${reference}`), headers: { accept: ACCEPT }, scopes: pullScope(repo),
    action: `resolving "${reference}" in ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await res.body.dump();
  const digest = headerDigest(res);
  const size = Number(res.headers['content-length']);
  if (!digest || !Number.isFinite(size) || res.headers['content-length'] === undefined) {
    return (await fetchManifest(repo, reference, opts)).descriptor;
  }
  if (isDigest(reference) && digest !== reference) throw mismatch(repo, `"${reference}" (HEAD)`, reference, digest);
  return { mediaType: mediaTypeOf(res), digest, size };
}

/**
 * PUT manifest bytes under a tag or their digest, `Content-Type` = `desc.mediaType`; checks the bytes
 * against `desc` first and the registry's `Docker-Content-Digest` after.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-manifests
 */
export async function pushManifest(repo: RepoContext, desc: Descriptor, bytes: Uint8Array, reference?: string, opts: OpOptions = {}): Promise<void> {
  const actual = computeDigest(bytes, desc.digest);
  if (actual !== desc.digest || bytes.byteLength !== desc.size) {
    throw new RulesctlError(ErrorCodes.DIGEST_MISMATCH, `manifest bytes do not match ${desc.digest} (${desc.size} bytes): got ${actual} (${bytes.byteLength} bytes)`, {
      details: { expected: desc.digest, actual },
    });
  }
  const ref = reference ?? desc.digest;
  const res = await send(repo.client, repo.registry, {
    method: 'PUT', url: repoPath(repo, `manifests/${ref}`), body: bytes, scopes: pushScope(repo), ok: [201, 200],
    headers: { 'content-type': desc.mediaType, 'content-length': String(bytes.byteLength) },
    action: `pushing manifest ${desc.digest} to ${repo.name}${reference ? `:${reference}` : ''}`, ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await res.body.dump();
  const announced = headerDigest(res);
  if (announced && announced !== desc.digest) throw mismatch(repo, `pushed as "${ref}"`, desc.digest, announced);
}

/** Points `tag` at an existing manifest: fetch its bytes by digest, PUT them under the tag. */
export async function tagManifest(repo: RepoContext, desc: Descriptor, tag: string, opts: OpOptions = {}): Promise<void> {
  const { bytes } = await fetchManifest(repo, desc, opts);
  await pushManifest(repo, desc, bytes, tag, opts);
}

/** DELETE a manifest by digest (202); every tag pointing at it goes too. */
export async function deleteManifest(repo: RepoContext, digest: string, opts: OpOptions = {}): Promise<void> {
  parseDigest(digest);
  const res = await send(repo.client, repo.registry, {
    method: 'DELETE', url: repoPath(repo, `manifests/${digest}`), scopes: deleteScope(repo), ok: [202, 200, 204],
    action: `deleting manifest ${digest} from ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await res.body.dump();
}
