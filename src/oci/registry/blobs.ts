import type { Readable, Transform } from 'node:stream';
import type { Descriptor } from '../descriptor.js';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import type { FetchOptions, OpOptions } from '../target.js';
import { createVerifier } from '../verify.js';
import { networkError } from './errors.js';
import { send } from './request.js';
import { isRetryableError } from './retry.js';
import { deleteScope, pullScope, repoPath, type RepoContext } from './repo-context.js';
import type { RawResponse } from './transport.js';

/**
 * Streams a blob, verified against `desc` as it flows (ERR_SIZE_MISMATCH / ERR_DIGEST_MISMATCH
 * instead of a clean end). A dropped connection resumes with `Range: bytes=N-` when the registry
 * answers 206, continuing the same hash; redirects to storage hosts are followed without
 * credentials. https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-blobs
 */
export async function fetchBlob(repo: RepoContext, desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
  const first = await getBlob(repo, desc, 0, opts);
  const announced = first.headers['docker-content-digest'];
  if (typeof announced === 'string' && announced && announced !== desc.digest && !first.crossOrigin) {
    await first.body.dump();
    throw new RulesctlError(ErrorCodes.DIGEST_MISMATCH, `blob ${desc.digest} of ${repo.name}: the registry announced ${announced}`, {
      details: { expected: desc.digest, actual: announced },
    });
  }
  const length = Number(first.headers['content-length']);
  if (first.status === 200 && Number.isFinite(length) && first.headers['content-length'] !== undefined && length !== desc.size) {
    await first.body.dump();
    throw new RulesctlError(ErrorCodes.SIZE_MISMATCH, `blob ${desc.digest} of ${repo.name} has ${length} bytes, expected ${desc.size}`, {
      details: { expected: desc.size, actual: length },
    });
  }
  const verifier = createVerifier(desc, { source: repo.name, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  pumpWithResume(repo, desc, first, verifier, opts);
  return verifier;
}

/**
 * Writes the response body into the verifier by hand (no intermediate stream: this is the hot path
 * of every pull), honouring backpressure. When the body fails with a retryable network error before
 * `desc.size` bytes, the download resumes with `Range: bytes=<offset>-` (206 required) into the same
 * verifier, so the hash continues. A consumer that destroys the verifier stops the download.
 */
function pumpWithResume(repo: RepoContext, desc: Descriptor, first: RawResponse, verifier: Transform, opts: OpOptions): void {
  let offset = 0;
  let resumes = 0;
  let current: RawResponse = first;
  const stop = () => {
    if (!current.body.destroyed) current.body.destroy();
  };
  verifier.once('close', stop);
  const pump = (res: RawResponse) => {
    current = res;
    const body = res.body;
    body.on('data', (chunk: Buffer) => {
      offset += chunk.length;
      if (!verifier.write(chunk)) {
        body.pause();
        verifier.once('drain', () => body.resume());
      }
    });
    body.once('end', () => verifier.end());
    let failed = false;
    // `on`, not `once`: undici may emit a second error (AbortError) when a failed body is destroyed.
    body.on('error', (err: Error) => {
      if (failed || verifier.destroyed) return;
      failed = true;
      const canResume = isRetryableError(err) && offset < desc.size && resumes + 1 < repo.client.retry.attempts;
      if (!canResume) {
        verifier.destroy(networkError(err, 'GET', res.url));
        return;
      }
      resumes++;
      repo.client.logger.debug('blob download interrupted; resuming', { digest: desc.digest, offset });
      getBlob(repo, desc, offset, opts).then(async (next) => {
        if (offset > 0 && (next.status !== 206 || !contentRangeStartsAt(next.headers['content-range'], offset))) {
          await next.body.dump();
          throw networkError(err, 'GET', repoPath(repo, `blobs/${desc.digest}`));
        }
        if (verifier.destroyed) {
          next.body.destroy();
          return;
        }
        pump(next);
      }).catch((e: unknown) => verifier.destroy(e as Error));
    });
  };
  pump(first);
}

function contentRangeStartsAt(header: string | string[] | undefined, offset: number): boolean {
  const m = /^bytes (\d+)-/.exec(String(header ?? ''));
  return m !== null && Number(m[1]) === offset;
}

function getBlob(repo: RepoContext, desc: Descriptor, offset: number, opts: OpOptions): Promise<RawResponse> {
  return send(repo.client, repo.registry, {
    method: 'GET',
    url: repoPath(repo, `blobs/${desc.digest}`),
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    scopes: pullScope(repo),
    ok: offset > 0 ? [200, 206] : [200],
    action: `fetching blob ${desc.digest} of ${repo.name}`,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

/** HEAD on a blob: true when present (200), false on 404. */
export async function blobExists(repo: RepoContext, digest: string, opts: OpOptions = {}): Promise<boolean> {
  try {
    const res = await send(repo.client, repo.registry, {
      method: 'HEAD', url: repoPath(repo, `blobs/${digest}`), scopes: pullScope(repo),
      action: `checking blob ${digest} in ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
    });
    await res.body.dump();
    return true;
  } catch (err) {
    if ((err as RulesctlError).code === ErrorCodes.NOT_FOUND) return false;
    const details = (err as RulesctlError).details;
    // Some storage hosts behind blob redirects refuse HEAD (403/405): ask with a GET instead.
    if (details?.['redirectedTo'] && (details['status'] === 403 || details['status'] === 405)) {
      const res = await getBlob(repo, { mediaType: '', digest, size: 0 }, 0, opts);
      // undici emits an AbortError on a destroyed body: without a listener it is an uncaught exception.
      res.body.on('error', () => {});
      res.body.destroy();
      return true;
    }
    throw err;
  }
}

/** DELETE a blob from this repository (202). */
export async function deleteBlob(repo: RepoContext, digest: string, opts: OpOptions = {}): Promise<void> {
  const res = await send(repo.client, repo.registry, {
    method: 'DELETE', url: repoPath(repo, `blobs/${digest}`), scopes: deleteScope(repo), ok: [202, 200, 204],
    action: `deleting blob ${digest} from ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await res.body.dump();
}
