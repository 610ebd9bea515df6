/**
 * Helpers for the artifact end-to-end tests: a tar.gz built byte by byte (one USTAR entry, as
 * falcoctl writes it: falcoctl.md §3), plain-HTTP uploads with undici (no rulesctl code involved),
 * and sample rules files.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { testEnv } from '../../cli/_run.js';
import type { TestRegistry } from '../../helpers/registries.js';
import { tmpDir } from '../../helpers/tmp.js';

export const sha256 = (b: Uint8Array | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One USTAR header block: name, mode, uid/gid 0, size, mtime 0, typeflag `0`, magic `ustar\0` `00`. */
export function ustarHeader(name: string, size: number, mode = 0o644): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** A gzip'ed tar holding one regular file at the root. */
export function singleFileTarGz(name: string, content: Buffer, mode = 0o644): Buffer {
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return gzipSync(Buffer.concat([ustarHeader(name, content.length, mode), content, pad, Buffer.alloc(1024)]));
}

/** Monolithic blob upload (POST then PUT ?digest=) over plain HTTP. */
export async function uploadBlob(reg: TestRegistry, repo: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const post = await request(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await post.body.dump();
  if (post.statusCode !== 202) throw new Error(`POST upload: ${post.statusCode}`);
  const location = new URL(String(post.headers.location), reg.url);
  location.searchParams.set('digest', digest);
  const put = await request(location, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) } });
  await put.body.dump();
  if (put.statusCode !== 201) throw new Error(`PUT blob: ${put.statusCode}`);
  return digest;
}

export async function putManifest(reg: TestRegistry, repo: string, ref: string, bytes: Buffer, mediaType: string): Promise<void> {
  const res = await request(`${reg.url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: bytes, headers: { 'content-type': mediaType } });
  const text = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`PUT manifest: ${res.statusCode} ${text}`);
}

/** A valid rules file declaring a plugin dependency and engine version 26. */
export const VALID_RULES = `- required_engine_version: 26
- required_plugin_versions:
  - name: k8saudit
    version: 0.7.0
    alternatives:
      - name: k8saudit-eks
        version: 0.4.0
  - name: json
    version: 0.7.0
- macro: spawned_process
  condition: (evt.type in (execve, execveat) and evt.dir=<)
- rule: Shell in container
  desc: A shell was spawned in a container
  condition: spawned_process and container.id != host and proc.name = bash
  output: Shell in container (user=%user.name)
  priority: WARNING
`;

/** A fresh directory and the clean CLI environment rooted in it. */
export function cliHome(extra: Record<string, string | undefined> = {}): { home: string; env: Record<string, string | undefined> } {
  const home = tmpDir('artifact-cli');
  return { home, env: testEnv(home, extra) };
}
