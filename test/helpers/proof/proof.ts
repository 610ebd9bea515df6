/**
 * Helpers for the proof tests (issue 8: faults, hostile input, load): publish small Falco artifacts
 * with rulesctl's own library (or raw bytes, for hostile content), list destination trees, hash files,
 * and run the CLI in-process or spawned with a clean environment.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { buildArtifact } from '../../../src/artifact/build.js';
import type { ArtifactDependency } from '../../../src/artifact/config.js';
import { FalcoMediaTypes, type ArtifactType } from '../../../src/artifact/media-types.js';
import { pushArtifact } from '../../../src/artifact/push.js';
import { Annotations, descriptorFor, type Descriptor } from '../../../src/oci/descriptor.js';
import { MediaTypes } from '../../../src/oci/media-types.js';
import { createRegistryClient, type RegistryClient } from '../../../src/oci/registry/client.js';
import type { Target } from '../../../src/oci/target.js';
import { tmpDir } from '../tmp.js';

export const PLATFORM = { os: 'linux', architecture: 'amd64' } as const;
export const PLATFORM_FLAG = `${PLATFORM.os}/${PLATFORM.architecture}`;

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
export const fileSha = (path: string): string => sha256(readFileSync(path));

/** A plain-HTTP client for publishing (fast retries); close it in afterAll. */
export function publisher(): RegistryClient {
  return createRegistryClient({ plainHttp: true, retry: { baseMs: 5, maxMs: 50 } });
}

/** A small valid rules file whose rule names carry `tag`. */
export function rulesText(tag: string, n = 3): string {
  return Array.from({ length: n }, (_, i) =>
    `- rule: ${tag} ${i}\n  desc: d\n  condition: evt.type = open and proc.name = "${tag}${i}"\n  output: "opened %fd.name"\n  priority: WARNING\n`).join('');
}

export interface PublishSpec {
  type?: ArtifactType;
  name: string;
  version: string;
  /** File name in the layer; default `<name>.yaml` (rulesfile) or `lib<name>.so` (plugin). */
  file?: string;
  content: string | Buffer;
  tags?: string[];
  dependencies?: ArtifactDependency[];
}

/** Builds and pushes one artifact (plugins for linux/amd64) with the library; returns its root digest. */
export async function publish(target: Target, spec: PublishSpec): Promise<string> {
  const type = spec.type ?? 'rulesfile';
  const dir = tmpDir('proof-publish');
  const file = spec.file ?? (type === 'plugin' ? `lib${spec.name}.so` : `${spec.name.replace(/-/g, '_')}.yaml`);
  await writeFile(join(dir, file), spec.content);
  const built = await buildArtifact({
    type, name: spec.name, version: spec.version, created: '2026-01-01T00:00:00Z', workDir: join(dir, 'work'),
    files: [{ path: join(dir, file), ...(type === 'plugin' ? { platform: PLATFORM_FLAG } : {}) }],
    ...(spec.dependencies ? { dependencies: spec.dependencies } : {}),
  });
  try {
    return (await pushArtifact(target, built, { tags: spec.tags ?? [spec.version] })).rootDigest;
  } finally {
    await built.dispose();
  }
}

export interface RawSpec {
  /** Config blob bytes (any content: hostile configs). */
  config: Buffer | string;
  /** Layer bytes (a tar.gz, or anything). */
  layer: Buffer;
  title?: string;
  type?: ArtifactType;
  tag: string;
}

/** Pushes a rulesfile-typed manifest with exactly these config and layer bytes; returns the manifest descriptor. */
export async function publishRaw(target: Target, spec: RawSpec): Promise<Descriptor> {
  const media = FalcoMediaTypes[spec.type ?? 'rulesfile'];
  const config = Buffer.from(spec.config);
  const configDesc = descriptorFor(media.config, config);
  const layerDesc: Descriptor = { ...descriptorFor(media.layer, spec.layer), annotations: { [Annotations.title]: spec.title ?? 'rules.tar.gz' } };
  await target.push(configDesc, config);
  await target.push(layerDesc, spec.layer);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [layerDesc] }));
  const desc = descriptorFor(MediaTypes.ociManifest, manifest);
  await target.pushManifest(desc, manifest, spec.tag);
  return desc;
}

/** Every entry under `dir` (hidden ones included), relative, sorted; directories end with `/`. */
export function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const isDir = lstatSync(p).isDirectory();
      out.push(relative(dir, p) + (isDir ? '/' : ''));
      if (isDir) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Entries that look like temp, staging or partial files (what a crash or a refusal must not leave). */
export function leftovers(dir: string): string[] {
  return tree(dir).filter((p) => /(^|\/)\.|\.tmp\/?$|staging|partial/i.test(p));
}

export interface ProofDirs {
  root: string;
  home: string;
  rules: string;
  plugins: string;
  assets: string;
  state: string;
  tmp: string;
}

/** A fresh root with a HOME (empty falcoctl.yaml), rules/plugins/assets/state/tmp dirs. */
export async function proofDirs(prefix = 'proof'): Promise<ProofDirs> {
  const root = tmpDir(prefix);
  const d: ProofDirs = {
    root, home: join(root, 'home'), rules: join(root, 'rules'), plugins: join(root, 'plugins'),
    assets: join(root, 'assets'), state: join(root, 'state'), tmp: join(root, 'tmp'),
  };
  for (const p of [d.home, d.rules, d.plugins, d.assets, d.state, d.tmp]) await mkdir(p, { recursive: true });
  await writeFile(join(d.home, 'falcoctl.yaml'), '');
  return d;
}

/** `artifact install` flags pointing at `d` (plain HTTP, no signature policy, linux/amd64). */
export function installFlags(d: ProofDirs): string[] {
  return [
    '--plain-http', '--rulesfiles-dir', d.rules, '--plugins-dir', d.plugins, '--assets-dir', d.assets,
    '--state-dir', d.state, '--platform', PLATFORM_FLAG,
  ];
}

/** The error of a failed run with `--log-format json` (`{"code","level":"ERROR","msg"}` on stderr), or the `Error:` line of text output. */
export function errorOf(stderr: string, stdout = ''): { code?: string; message: string } {
  for (const line of `${stdout}\n${stderr}`.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const doc = JSON.parse(t) as Record<string, unknown>;
      const e = (doc.error ?? doc) as Record<string, unknown>;
      if (typeof e.code === 'string' && e.code.startsWith('ERR_')) return { code: e.code, message: String(e.msg ?? e.message ?? '') };
    } catch {
      // not JSON
    }
  }
  const m = /^Error: (.*)$/m.exec(stderr);
  return { message: m?.[1] ?? '' };
}

export const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'rulesctl.cjs');

export interface Child {
  proc: ResultPromise;
  /** JSON log lines of stderr so far (non-JSON lines as `{ msg, level: 'RAW' }`). */
  lines: Record<string, unknown>[];
  /** Resolves with the first line matching `pred` (rejects after `timeoutMs`). */
  waitFor(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Spawns `node bin/rulesctl.cjs --log-format json ...args` (the built dist/) with exactly `env`. */
export function spawnRulesctl(args: string[], env: Record<string, string | undefined>): Child {
  const proc = execa(process.execPath, [BIN, '--log-format', 'json', ...args], { env, extendEnv: false, reject: false, buffer: false });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line, level: 'RAW' });
      }
    }
  });
  proc.stdout?.resume();
  return {
    proc, lines,
    async waitFor(pred, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines.find(pred);
        if (hit) return hit;
        if (Date.now() > end) throw new Error(`no matching log line in ${timeoutMs} ms; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
        await delay(10);
      }
    },
  };
}

/**
 * Reads `files` every `everyMs` until stopped: each read must be absent (ENOENT) or hash to one of
 * `known` (whole old or whole new). Returns the failures and the number of reads.
 */
export function hammer(files: () => string[], known: Set<string>, everyMs = 2): { stop(): { reads: number; failures: string[] } } {
  let reads = 0;
  const failures: string[] = [];
  const timer = setInterval(() => {
    for (const f of files()) {
      try {
        const h = fileSha(f);
        reads++;
        if (!known.has(h)) failures.push(`${f}: unknown content ${h.slice(0, 12)}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') failures.push(`${f}: ${(err as Error).message}`);
      }
    }
  }, everyMs);
  return { stop: () => { clearInterval(timer); return { reads, failures }; } };
}

/** Runs `fn(i)` for i in [0, n) with at most `lanes` at a time. */
export async function inLanes<T>(n: number, lanes: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(lanes, n) }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  }));
  return out;
}

/** The pid of a process that has exited (for planting files named after a dead run). */
export async function deadPid(): Promise<number> {
  const p = execa(process.execPath, ['-e', '0']);
  await p;
  return p.pid!;
}

/**
 * Plants `<dir>/.<name>.rulesctl-<pid>-0123456789ab.tmp` (src/install/place.ts's staging name) as a
 * run killed with that pid leaves it; returns the path.
 */
export async function plantStaleTemp(dir: string, name: string, pid: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `.${name}.rulesctl-${pid}-0123456789ab.tmp`);
  await writeFile(path, '{"partial":');
  return path;
}
