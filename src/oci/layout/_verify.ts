import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import { parseDigest, type Descriptor } from '../descriptor.js';

/**
 * Private stand-in for the shared `src/oci/verify.ts`: a pass-through Transform that errors with
 * ERR_SIZE_MISMATCH as soon as more than `desc.size` bytes flow, and at the end on a short body
 * (ERR_SIZE_MISMATCH) or a digest that differs from `desc.digest` (ERR_DIGEST_MISMATCH).
 * image-spec descriptor.md#digests; oras-go content.VerifyReader.
 */
export function createVerifier(desc: Descriptor): Transform {
  const { algorithm } = parseDigest(desc.digest);
  const hash: Hash = createHash(algorithm);
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > desc.size) {
        cb(sizeError(desc, seen, 'more than'));
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (seen !== desc.size) {
        cb(sizeError(desc, seen, 'only'));
        return;
      }
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (actual !== desc.digest) {
        cb(new RulesctlError(ErrorCodes.DIGEST_MISMATCH, `content of ${desc.digest} has digest ${actual}`, {
          hint: 'the content is corrupted or was altered; fetch it again from a trusted source',
          details: { expected: desc.digest, actual },
        }));
        return;
      }
      cb();
    },
  });
}

function sizeError(desc: Descriptor, seen: number, how: string): RulesctlError {
  return new RulesctlError(ErrorCodes.SIZE_MISMATCH, `content of ${desc.digest}: expected ${desc.size} bytes, got ${how} ${seen}`, {
    hint: 'the content is truncated or corrupted; fetch it again',
    details: { digest: desc.digest, expected: desc.size, actual: seen },
  });
}
