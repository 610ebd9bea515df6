import { pipeline, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Descriptor } from '../descriptor.js';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import type { PushOptions } from '../target.js';
import { createVerifier } from '../verify.js';
import { send } from './request.js';
import { backoffDelay } from './retry.js';
import { pushScope, type RepoContext } from './repo-context.js';

/**
 * Chunked upload: PATCH chunks of at most `chunkSize` bytes (`Content-Range: start-end`, inclusive),
 * always to the last `Location`, then `PUT <location>&digest=` with no body. A failed PATCH is not
 * resent blindly: the session's committed `Range` is read back (`GET <location>` → 204) and the
 * upload continues from there. Only one chunk is held in memory.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-a-blob-in-chunks
 */
export async function uploadChunked(
  repo: RepoContext, location: URL, desc: Descriptor, body: Readable | Uint8Array, chunkSize: number, opts: PushOptions,
): Promise<void> {
  let loc = location;
  let offset = 0;
  const chunks = body instanceof Uint8Array ? sliceBuffer(body, chunkSize) : rechunk(pipeline(body, createVerifier(desc), () => {}), chunkSize);
  for await (const chunk of chunks) {
    loc = await patchChunk(repo, loc, chunk, offset, opts);
    offset += chunk.length;
    opts.onProgress?.(offset);
  }
  if (offset !== desc.size) {
    throw new RulesctlError(ErrorCodes.SIZE_MISMATCH, `blob ${desc.digest} has ${offset} bytes, expected ${desc.size}`, { details: { expected: desc.size, actual: offset } });
  }
  const url = new URL(loc);
  url.searchParams.set('digest', desc.digest);
  const res = await send(repo.client, repo.registry, {
    method: 'PUT', url, headers: { 'content-length': '0', 'content-type': 'application/octet-stream' }, scopes: pushScope(repo), ok: [201],
    action: `completing the upload of ${desc.digest} to ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await res.body.dump();
}

function* sliceBuffer(buf: Uint8Array, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.byteLength; i += size) yield Buffer.from(buf.buffer, buf.byteOffset + i, Math.min(size, buf.byteLength - i));
}

async function* rechunk(stream: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (const piece of stream) {
    parts.push(piece);
    held += piece.length;
    while (held >= size) {
      const all = Buffer.concat(parts);
      yield all.subarray(0, size);
      parts = [all.subarray(size)];
      held = all.length - size;
    }
  }
  if (held > 0) yield Buffer.concat(parts);
}

async function patchChunk(repo: RepoContext, loc: URL, chunk: Buffer, offset: number, opts: PushOptions): Promise<URL> {
  let sendFrom = 0;
  for (let attempt = 0; ; attempt++) {
    const part = chunk.subarray(sendFrom);
    const start = offset + sendFrom;
    try {
      const res = await send(repo.client, repo.registry, {
        method: 'PATCH', url: loc, body: part, scopes: pushScope(repo), ok: [202], retry: false,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${start + part.length - 1}`, 'content-length': String(part.length) },
        action: `uploading bytes ${start}-${start + part.length - 1} to ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
      });
      await res.body.dump();
      return new URL(String(res.headers['location'] ?? loc), res.url);
    } catch (err) {
      const code = (err as RulesctlError).code;
      const transient = code === ErrorCodes.NETWORK || code === ErrorCodes.TIMEOUT || ((err as RulesctlError).details?.['status'] as number) >= 500 || (err as RulesctlError).details?.['status'] === 429;
      if (!transient || attempt + 1 >= repo.client.retry.attempts) throw err;
      await sleep(backoffDelay(attempt, repo.client.retry, repo.client.random), undefined, opts.signal ? { signal: opts.signal } : {});
      const status = await uploadStatus(repo, loc, opts);
      const committed = status.committed - offset;
      if (committed < 0 || committed > chunk.length) throw err;
      loc = status.location;
      if (committed === chunk.length) return loc;
      sendFrom = committed;
    }
  }
}

/** `GET <location>` → 204 with `Range: 0-<end>`: bytes the registry holds for this session. */
async function uploadStatus(repo: RepoContext, loc: URL, opts: PushOptions): Promise<{ committed: number; location: URL }> {
  const res = await send(repo.client, repo.registry, {
    method: 'GET', url: loc, scopes: pushScope(repo), ok: [204, 200],
    action: `reading the upload status at ${repo.name}`, ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await res.body.dump();
  const m = /^(?:bytes=)?0-(\d+)$/.exec(String(res.headers['range'] ?? ''));
  // distribution answers "0-0" for an empty session too; read it as nothing committed.
  const end = m ? Number(m[1]) : 0;
  return { committed: end > 0 ? end + 1 : 0, location: new URL(String(res.headers['location'] ?? loc), res.url) };
}
