import { createRequire } from 'node:module';
import type { Gunzip } from 'node:zlib';

// node:zlib is loaded by the first gunzip, not by importing this module: an install with nothing
// to extract (the warm path) never needs it (~1.5 ms of start-up).
const load = () => createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib');

/**
 * A gunzip stream with 1 MiB output buffers. zlib inflates on the thread pool one output buffer per
 * round trip; with the default 16 KiB that is 16,384 round trips for 256 MiB and the check of a
 * pushed plugin took 0.93 s instead of 0.2 s here. Memory: one buffer at a time.
 */
export function gunzip(): Gunzip {
  return load().createGunzip({ chunkSize: 1 << 20 });
}
