import { Transform } from 'node:stream';

const BLOCK = 512;

/**
 * Passes a raw tar stream through up to its end-of-archive marker (two zero blocks) and drops what
 * follows, as Go's archive/tar and GNU tar stop reading there. node-tar's parser is very slow on long
 * runs of zero blocks, so it must not see them; upstream bytes are still consumed (and counted by the
 * byte budget). Tracks only block boundaries: header sizes decide how many data blocks to skip.
 */
export function stopAtEndOfArchive(): Transform {
  let header = Buffer.alloc(0);
  let skip = 0;
  let zeroHeaders = 0;
  let ended = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (ended) return cb();
      let pos = 0;
      while (pos < chunk.length && !ended) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - pos);
          skip -= n;
          pos += n;
          continue;
        }
        const n = Math.min(BLOCK - header.length, chunk.length - pos);
        header = Buffer.concat([header, chunk.subarray(pos, pos + n)]);
        pos += n;
        if (header.length < BLOCK) continue;
        if (header.every((b) => b === 0)) ended = ++zeroHeaders === 2;
        else {
          zeroHeaders = 0;
          skip = Math.ceil(entrySize(header) / BLOCK) * BLOCK;
        }
        header = Buffer.alloc(0);
      }
      cb(null, chunk.subarray(0, pos));
    },
  });
}

/** The size field: octal text, or GNU base-256 when the high bit of its first byte is set. */
function entrySize(h: Buffer): number {
  const field = h.subarray(124, 136);
  if (field[0]! & 0x80) {
    let v = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i]!;
    return v;
  }
  const text = field.toString('latin1').replace(/[\0 ].*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8) || 0;
}
