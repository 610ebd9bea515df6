import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { createVerifier } from '../../../src/oci/verify.js';

const data = Buffer.from('hello, falco rules\n'.repeat(100));
const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function run(input: Buffer[], desc: { digest: string; size: number }, onProgress?: (n: number) => void): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(input), createVerifier(desc, onProgress ? { onProgress } : {}), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

describe('createVerifier', () => {
  it('passes matching content through and reports progress', async () => {
    const seen: number[] = [];
    const out = await run([data.subarray(0, 10), data.subarray(10)], { digest, size: data.length }, (n) => seen.push(n));
    expect(out.equals(data)).toBe(true);
    expect(seen).toEqual([10, data.length]);
  });

  it('fails on a digest mismatch at the end with expected/actual', async () => {
    const bad = Buffer.from(data);
    bad[5] = 0;
    await expect(run([bad], { digest, size: data.length })).rejects.toMatchObject({
      code: 'ERR_DIGEST_MISMATCH', details: { expected: digest, actual: `sha256:${createHash('sha256').update(bad).digest('hex')}` },
    });
  });

  it('fails as soon as more bytes than size arrive', async () => {
    await expect(run([data, Buffer.from('x')], { digest, size: data.length })).rejects.toMatchObject({ code: 'ERR_SIZE_MISMATCH' });
  });

  it('fails on an early end', async () => {
    await expect(run([data.subarray(0, 100)], { digest, size: data.length })).rejects.toMatchObject({
      code: 'ERR_SIZE_MISMATCH', details: { expected: data.length, actual: 100 },
    });
  });

  it('supports sha512 and rejects bad digests up front', async () => {
    const d512 = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    expect((await run([data], { digest: d512, size: data.length })).length).toBe(data.length);
    expect(() => createVerifier({ digest: 'md5:abc', size: 1 })).toThrowError(expect.objectContaining({ code: 'ERR_INVALID_DIGEST' }));
  });
});
