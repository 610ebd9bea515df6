import { pipeline, type Readable } from 'node:stream';
import type { Descriptor } from '../descriptor.js';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import type { PushOptions } from '../target.js';
import { repositoryScope } from '../auth/token.js';
import { createVerifier } from '../verify.js';
import { send } from './request.js';
import { pushScope, repoPath, type RepoContext } from './repo-context.js';
import { uploadChunked } from './chunked.js';
import type { RawResponse } from './transport.js';

/**
 * Uploads a blob: `POST uploads/` then a monolithic `PUT <location>&digest=` (default), or PATCH
 * chunks of at most `chunkSize` bytes when the client has one (ghcr.io: ≤ 4 MiB). Stream bodies are
 * verified against `desc` while sent and are never replayed: a failed monolithic PUT of a stream
 * fails clearly; buffers re-open the upload and retry.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-blobs
 */
export async function pushBlob(repo: RepoContext, desc: Descriptor, body: Readable | Uint8Array, opts: PushOptions = {}): Promise<void> {
  if (body instanceof Uint8Array && body.byteLength !== desc.size) {
    throw new RulesctlError(ErrorCodes.SIZE_MISMATCH, `blob ${desc.digest} has ${body.byteLength} bytes, expected ${desc.size}`, {
      details: { expected: desc.size, actual: body.byteLength },
    });
  }
  const session = await openUpload(repo, opts);
  await uploadTo(repo, session, desc, body, opts);
}

/** An open upload session: where to send bytes, and the registry's `OCI-Chunk-Min-Length` if any. */
export interface UploadSession {
  location: URL;
  minChunk?: number;
}

/**
 * Continues an opened upload session (from `openUpload` or a mount answered 202). Chunks are never
 * smaller than the registry's `OCI-Chunk-Min-Length` (except the last).
 */
export async function uploadTo(repo: RepoContext, session: UploadSession, desc: Descriptor, body: Readable | Uint8Array, opts: PushOptions = {}): Promise<void> {
  const chunkSize = repo.client.chunkSize;
  if (chunkSize !== undefined && desc.size > 0) {
    await uploadChunked(repo, session.location, desc, body, Math.max(chunkSize, session.minChunk ?? 0), opts);
    return;
  }
  await putMonolithic(repo, session.location, desc, body, opts);
}

function sessionFrom(repo: RepoContext, res: RawResponse): UploadSession {
  const location = uploadLocation(repo, res.headers['location'], res.url);
  const min = Number(res.headers['oci-chunk-min-length']);
  return Number.isInteger(min) && min > 0 ? { location, minChunk: min } : { location };
}

/** `POST /v2/<name>/blobs/uploads/` → the session `Location` (absolute or relative, used as given). */
export async function openUpload(repo: RepoContext, opts: PushOptions = {}): Promise<UploadSession> {
  const res = await send(repo.client, repo.registry, {
    method: 'POST', url: repoPath(repo, 'blobs/uploads/'), headers: { 'content-length': '0' }, scopes: pushScope(repo), ok: [202],
    action: `starting an upload to ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await res.body.dump();
  return sessionFrom(repo, res);
}

/** The next upload URL from a `Location` header, resolved against the URL that answered. */
export function uploadLocation(repo: RepoContext, header: string | string[] | undefined, base: URL): URL {
  if (typeof header !== 'string' || header === '') {
    throw new RulesctlError(ErrorCodes.REGISTRY, `upload to ${repo.name}: the registry sent no Location header`);
  }
  return new URL(header, base);
}

async function putMonolithic(repo: RepoContext, location: URL, desc: Descriptor, body: Readable | Uint8Array, opts: PushOptions): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', desc.digest);
  const payload = body instanceof Uint8Array
    ? body
    : pipeline(body, createVerifier(desc, { ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) }), () => {});
  const res = await send(repo.client, repo.registry, {
    method: 'PUT', url, body: payload, scopes: pushScope(repo), ok: [201],
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
    action: `uploading blob ${desc.digest} to ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await res.body.dump();
  if (body instanceof Uint8Array) opts.onProgress?.(desc.size);
}

/** Cancels an upload session (`DELETE <location>`); failures are ignored. */
export async function cancelUpload(repo: RepoContext, location: URL, opts: PushOptions = {}): Promise<void> {
  try {
    const res = await send(repo.client, repo.registry, {
      method: 'DELETE', url: location, scopes: pushScope(repo), ok: [204, 200, 202, 404], retry: false,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    await res.body.dump();
  } catch (err) {
    repo.client.logger.debug('cancelling an upload session failed', { repository: repo.name, error: (err as Error).message });
  }
}

/** Result of a mount attempt: mounted, or an upload session the registry opened instead (202). */
export type MountResult = { mounted: true } | { mounted: false; session: UploadSession };

/**
 * Cross-repository mount `POST uploads/?mount=<digest>&from=<repo>`, with a token covering
 * `pull,push` here and `pull` on the source. 201 = mounted; 202 = an upload session was opened
 * (never retry the mount). https://github.com/opencontainers/distribution-spec/blob/main/spec.md#mounting-a-blob-from-another-repository
 */
export async function mountBlob(repo: RepoContext, desc: Descriptor, fromRepository: string, opts: PushOptions = {}): Promise<MountResult> {
  const url = new URL(repoPath(repo, 'blobs/uploads/'), repo.client.baseUrl(repo.registry));
  url.searchParams.set('mount', desc.digest);
  url.searchParams.set('from', fromRepository);
  const res = await send(repo.client, repo.registry, {
    method: 'POST', url, headers: { 'content-length': '0' }, ok: [201, 202],
    scopes: [...pushScope(repo), repositoryScope(fromRepository, 'pull')],
    action: `mounting blob ${desc.digest} from ${fromRepository} into ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await res.body.dump();
  if (res.status === 201) return { mounted: true };
  return { mounted: false, session: sessionFrom(repo, res) };
}
