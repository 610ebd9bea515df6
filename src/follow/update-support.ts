import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Descriptor } from '../oci/descriptor.js';
import type { FetchOptions, OpOptions, Target } from '../oci/target.js';
import { isAlive } from '../util/process.js';

/** Helpers of the follow update: per-update read memo, and cleanup after a crashed process. */

/**
 * Removes `rulesctl-follow-<pid>-*` work directories in `tmpDir` left by processes that no longer
 * run (kill -9, OOM), or by an earlier process with our pid (a restarted container). Returns them.
 */
export async function cleanStaleWorkDirs(tmpDir: string): Promise<string[]> {
  const names = await readdir(tmpDir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = /^rulesctl-follow-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && isAlive(pid)) continue;
    await rm(join(tmpDir, name), { recursive: true, force: true }).catch(() => {});
    removed.push(join(tmpDir, name));
  }
  return removed;
}


const SMALL = 1024 * 1024;

/**
 * `target` with manifests fetched by digest and small config blobs kept for the duration of one
 * update (content-addressed, so a cached answer is the registry's answer). Layers are not cached.
 */
export function memoizeSmallReads(target: Target): Target {
  const manifests = new Map<string, Promise<{ descriptor: Descriptor; bytes: Buffer }>>();
  const blobs = new Map<string, Promise<Buffer>>();
  const fetchManifest = (ref: string | Descriptor, opts?: OpOptions) => {
    const key = typeof ref === 'string' ? ref : ref.digest;
    if (!key.startsWith('sha256:')) return target.fetchManifest(ref, opts);
    let p = manifests.get(key);
    if (!p) {
      p = target.fetchManifest(ref, opts);
      p.catch(() => manifests.delete(key));
      manifests.set(key, p);
    }
    return p;
  };
  const fetch = async (desc: Descriptor, opts?: FetchOptions): Promise<Readable> => {
    if (desc.size > SMALL || !/config/i.test(desc.mediaType)) return target.fetch(desc, opts);
    let p = blobs.get(desc.digest);
    if (!p) {
      p = (async () => {
        const chunks: Buffer[] = [];
        for await (const c of await target.fetch(desc, opts)) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      })();
      p.catch(() => blobs.delete(desc.digest));
      blobs.set(desc.digest, p);
    }
    return Readable.from([await p]);
  };
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (prop === 'fetchManifest') return fetchManifest;
      if (prop === 'fetch') return fetch;
      const v: unknown = Reflect.get(t, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}
