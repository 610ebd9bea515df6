import { ErrorCodes, RulesctlError } from '../errors.js';

/** One USTAR header as Go's archive/tar writes it for falcoctl (falcoctl.md §3). */
export interface UstarFields {
  name: string;
  size: number;
  /** Permission bits only. */
  mode: number;
  /** `'0'` regular file, `'5'` directory. */
  typeflag: '0' | '5';
}

export const BLOCK = 512;
const MAX_SIZE = 0o77777777777; // 11 octal digits: larger files need PAX, which falcoctl's path never writes

/**
 * The 512-byte USTAR header Go's `tar.Writer` emits for a `tar.Header{Name, Size, Mode, Typeflag}`:
 * numeric fields are zero-padded octal ending in NUL (`0000644\0`), mtime/uid/gid/devmajor/devminor 0,
 * empty linkname/uname/gname/prefix, magic `ustar\0` version `00`, checksum as six octal digits, NUL,
 * space. Names must be ASCII and at most 100 bytes (Go would switch to PAX; not supported here).
 */
export function ustarHeader(f: UstarFields): Buffer {
  if (!/^[\x20-\x7e]*$/.test(f.name) || f.name.length === 0 || f.name.length > 100) {
    throw new RulesctlError(ErrorCodes.INVALID_ARTIFACT, `cannot archive "${f.name}": the name must be 1-100 printable ASCII characters`, {
      hint: 'rename the file, or pass an already built .tar.gz',
    });
  }
  if (f.size > MAX_SIZE) {
    throw new RulesctlError(ErrorCodes.INVALID_ARTIFACT, `cannot archive "${f.name}": ${f.size} bytes is over the 8 GiB USTAR limit`);
  }
  const b = Buffer.alloc(BLOCK);
  b.write(f.name, 0, 'ascii');
  octal(b, 100, 8, f.mode & 0o7777);
  octal(b, 108, 8, 0); // uid
  octal(b, 116, 8, 0); // gid
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, 0); // mtime: Go writes time.Unix(0, 0) for a zero ModTime
  b.write(f.typeflag, 156, 'ascii');
  b.write('ustar\0', 257, 'ascii');
  b.write('00', 263, 'ascii');
  octal(b, 329, 8, 0); // devmajor
  octal(b, 337, 8, 0); // devminor
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  octal(b, 148, 7, sum);
  b[155] = 0x20;
  return b;
}

/** Go's formatter.formatOctal: zero-padded to width-1 digits, then NUL. */
function octal(b: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, '0');
  b.write(digits, offset, 'ascii');
  b[offset + digits.length] = 0;
}

/** Zero bytes that pad `size` bytes of content to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The end-of-archive marker: two zero blocks (Go writes no further record padding). */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
