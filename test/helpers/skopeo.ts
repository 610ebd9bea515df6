/**
 * The independent OCI client, skopeo 1.9, as a cross-check (style practice 18; spec
 * ../shared/spec/test-registry.md §1, §3, §4: plain HTTP needs `--*-tls-verify=false`, the TLS
 * registry needs `--*-cert-dir`, auth registries `--*-creds`).
 */
import { execa } from 'execa';

export interface SkopeoResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** What skopeo needs to know about a registry (a `TestRegistry` fits). */
export interface SkopeoRegistry {
  host: string;
  plainHttp: boolean;
  username?: string;
  password?: string;
  certDir?: string;
}

/** Runs `skopeo <args>`; never throws on a non-zero exit (check `exitCode`). */
export async function skopeo(args: string[], opts: { timeoutMs?: number; env?: Record<string, string>; signal?: AbortSignal } = {}): Promise<SkopeoResult> {
  const r = await execa('skopeo', args, {
    reject: false, timeout: opts.timeoutMs ?? 60_000, env: opts.env, stdin: 'ignore',
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
  });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1 };
}

/**
 * Transport flags for one side: `side` `src`/`dest` for copy, `''` for inspect/list-tags/delete.
 * `creds` overrides the registry's default user (`null`: anonymous).
 */
export function registryFlags(reg: SkopeoRegistry, side: 'src' | 'dest' | '', creds?: { username: string; password: string } | null): string[] {
  const p = side ? `--${side}-` : '--';
  const flags: string[] = [];
  if (reg.plainHttp) flags.push(`${p}tls-verify=false`);
  else if (reg.certDir) flags.push(`${p}cert-dir=${reg.certDir}`);
  const user = creds === undefined ? (reg.username !== undefined ? { username: reg.username, password: reg.password ?? '' } : null) : creds;
  if (user) flags.push(`${p}creds=${user.username}:${user.password}`);
  return flags;
}

/** `docker://<host>/<repo>:<tag>` or `…@<digest>`. */
export function dockerRef(reg: { host: string }, repo: string, ref: string): string {
  return `docker://${reg.host}/${repo}${ref.includes(':') ? `@${ref}` : `:${ref}`}`;
}

function check(what: string, r: SkopeoResult): void {
  if (r.exitCode !== 0) throw new Error(`skopeo ${what} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
}

/** The manifest bytes exactly as the registry serves them (`skopeo inspect --raw`); throws on failure. */
export async function skopeoInspectRaw(reg: SkopeoRegistry, repo: string, ref: string): Promise<Buffer> {
  const r = await execa('skopeo', ['inspect', '--raw', ...registryFlags(reg, ''), dockerRef(reg, repo, ref)],
    { reject: false, encoding: 'buffer', timeout: 60_000, stdin: 'ignore' });
  check('inspect --raw', { stdout: '', stderr: Buffer.from(r.stderr).toString('utf8'), exitCode: r.exitCode ?? -1 });
  return Buffer.from(r.stdout);
}

/**
 * `skopeo copy <src> <dst>` with the flags of `opts.src`/`opts.dest` registries when given
 * (`oci:<dir>:<tag>` sides need none); throws with skopeo's stderr on failure.
 */
export async function skopeoCopy(src: string, dst: string, opts: {
  src?: SkopeoRegistry; dest?: SkopeoRegistry;
  srcCreds?: { username: string; password: string } | null; destCreds?: { username: string; password: string } | null;
  extraArgs?: string[];
} = {}): Promise<SkopeoResult> {
  const args = ['copy', '--quiet',
    ...(opts.src ? registryFlags(opts.src, 'src', opts.srcCreds) : []),
    ...(opts.dest ? registryFlags(opts.dest, 'dest', opts.destCreds) : []),
    ...(opts.extraArgs ?? []), src, dst];
  const r = await skopeo(args);
  check(`copy ${src} ${dst}`, r);
  return r;
}

/** Tags of a repository (`skopeo list-tags`); throws on failure. */
export async function skopeoListTags(reg: SkopeoRegistry, repo: string): Promise<string[]> {
  const r = await skopeo(['list-tags', ...registryFlags(reg, ''), `docker://${reg.host}/${repo}`]);
  check('list-tags', r);
  return (JSON.parse(r.stdout) as { Tags: string[] }).Tags;
}
