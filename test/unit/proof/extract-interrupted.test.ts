/**
 * Issue 8: a source that fails or stalls in the middle of an archive entry (registry body timeout,
 * reset, abort on SIGTERM) must end the extraction with that error, not hang on the entry the dead
 * parser will never finish; the staging directory is removed and the destination stays empty.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { create } from 'tar';
import { describe, expect, it } from 'vitest';
import { extractToStaging } from '../../../src/artifact/extract.js';
import { RulesctlError } from '../../../src/errors.js';
import { tmpDir } from '../../helpers/tmp.js';

async function bigArchive(): Promise<Buffer> {
  const src = tmpDir('proof-extract-src');
  await writeFile(join(src, 'rules.yaml'), randomBytes(400_000).toString('base64'));
  const chunks: Buffer[] = [];
  for await (const c of create({ gzip: true, cwd: src, portable: true }, ['rules.yaml']) as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The first `cut` bytes of `data`, then `end` (an error, or nothing: a stall). */
function cutSource(data: Buffer, cut: number, end?: Error): Readable {
  const s = new PassThrough();
  s.write(data.subarray(0, cut));
  if (end) setTimeout(() => s.destroy(end), 50);
  return s;
}

describe('extractToStaging with a source interrupted mid-entry', () => {
  it('rejects with the source error (no hang), removes staging', async () => {
    const data = await bigArchive();
    const dest = tmpDir('proof-extract-dest');
    const err = new RulesctlError('ERR_TIMEOUT', 'GET blob: timed out (UND_ERR_BODY_TIMEOUT)');
    await expect(extractToStaging(() => Promise.resolve(cutSource(data, 100_000, err)), dest)).rejects.toBe(err);
    expect(readdirSync(dest)).toEqual([]);
  });

  it('an abort while an entry is being written ends in ERR_ABORTED, removes staging', async () => {
    const data = await bigArchive();
    const dest = tmpDir('proof-extract-dest');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(extractToStaging(() => Promise.resolve(cutSource(data, 100_000)), dest, { signal: ac.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(readdirSync(dest)).toEqual([]);
  });

  it('a plain stream error mid-entry is reported, not swallowed', async () => {
    const data = await bigArchive();
    const dest = tmpDir('proof-extract-dest');
    await expect(extractToStaging(cutSource(data, 50_000, Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), dest))
      .rejects.toMatchObject({ code: 'ERR_IO', message: expect.stringContaining('ECONNRESET') });
    expect(readdirSync(dest)).toEqual([]);
  });
});
