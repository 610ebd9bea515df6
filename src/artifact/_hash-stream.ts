import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

/** A pass-through that counts bytes and computes their sha256; read `size()`/`digest()` once it ended. */
export function hashingPassThrough(): { stream: Transform; size: () => number; digest: () => string } {
  const hash = createHash('sha256');
  let size = 0;
  let hex: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, size: () => size, digest: () => `sha256:${(hex ??= hash.digest('hex'))}` };
}
