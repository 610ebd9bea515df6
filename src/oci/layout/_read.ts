import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { addAbortSignal, pipeline, type Readable } from 'node:stream';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import type { Descriptor } from '../descriptor.js';
import { MediaTypes } from '../media-types.js';
import type { FetchOptions } from '../target.js';
import { wrapIo } from './_files.js';
import { createVerifier } from '../verify.js';

/** Manifests above this size are refused (distribution's default limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Size of the file at `path`, or undefined when it does not exist. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : undefined;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw wrapIo(err, `reading ${path}`);
  }
}

/** A stream of the blob at `path`, verified against `desc` as it flows (errors instead of ending). */
export async function openVerified(path: string, desc: Descriptor, where: string, opts: FetchOptions = {}): Promise<Readable> {
  opts.signal?.throwIfAborted();
  if ((await fileSize(path)) === undefined) {
    throw new RulesctlError(ErrorCodes.NOT_FOUND, `${desc.digest}: not found in ${where}`, {
      hint: 'copy the artifact into the layout first',
      details: { digest: desc.digest },
    });
  }
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const verifier = createVerifier(desc, { source: where, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  if (opts.signal) addAbortSignal(opts.signal, verifier);
  // Errors of the file or the verifier reach the consumer through the returned stream.
  return pipeline(file, verifier, () => undefined);
}

/** Reads a whole (small, verified) stream into memory, refusing more than `limit` bytes. */
export async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      stream.destroy();
      throw new RulesctlError(ErrorCodes.INVALID_MANIFEST, `manifest larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The media type a manifest declares, or the one its shape implies (older writers omit it). */
export function manifestMediaType(bytes: Buffer, digest: string): string {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new RulesctlError(ErrorCodes.INVALID_MANIFEST, `${digest} is not a JSON manifest`, { cause: err });
  }
  const obj = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
  if (typeof obj.mediaType === 'string') return obj.mediaType;
  if (Array.isArray(obj.manifests)) return MediaTypes.ociIndex;
  if (typeof obj.config === 'object' && obj.config !== null) return MediaTypes.ociManifest;
  throw new RulesctlError(ErrorCodes.INVALID_MANIFEST, `${digest} is neither an image manifest nor an image index`);
}
