import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { parseDigest, type Descriptor } from './descriptor.js';

export interface VerifierOptions {
  /** Called with the total number of bytes seen so far. */
  onProgress?: (bytes: number) => void;
  /** Name used in messages (`127.0.0.1:5000/falco/rules`). */
  source?: string;
}

/**
 * A pass-through Transform that counts and hashes bytes as they flow (oras-go `content.VerifyReader`).
 * Errors with ERR_SIZE_MISMATCH as soon as more than `desc.size` bytes arrive or when the input ends
 * early, and with ERR_DIGEST_MISMATCH at the end when the digest differs; `details` carry
 * `expected`/`actual`. Consumers must not treat data as good before the stream ended cleanly.
 * https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests
 */
export function createVerifier(desc: Pick<Descriptor, 'digest' | 'size'>, opts: VerifierOptions = {}): Transform {
  const { algorithm } = parseDigest(desc.digest);
  const hash = createHash(algorithm);
  const where = opts.source ? ` from ${opts.source}` : '';
  let seen = 0;
  return new Transform({
    // 1 MiB buffers on both sides: with the 16 KiB default every 64 KiB socket chunk pauses the source.
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > desc.size) {
        cb(sizeMismatch(desc, `more than ${desc.size} bytes`, where));
        return;
      }
      hash.update(chunk);
      opts.onProgress?.(seen);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (seen !== desc.size) {
        cb(sizeMismatch(desc, seen, where));
        return;
      }
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (actual !== desc.digest) {
        cb(new RulesctlError(ErrorCodes.DIGEST_MISMATCH, `content${where} does not match digest ${desc.digest}: got ${actual}`, {
          hint: 'the content was corrupted or changed; retry, and report it to the registry owner if it persists',
          details: { expected: desc.digest, actual },
        }));
        return;
      }
      cb();
    },
  });
}

function sizeMismatch(desc: Pick<Descriptor, 'digest' | 'size'>, actual: number | string, where: string): RulesctlError {
  return new RulesctlError(ErrorCodes.SIZE_MISMATCH, `content${where} for ${desc.digest} has ${actual} bytes, expected ${desc.size}`, {
    hint: 'the content was truncated or changed; retry, and report it to the registry owner if it persists',
    details: { expected: desc.size, actual },
  });
}
