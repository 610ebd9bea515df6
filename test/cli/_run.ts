/**
 * Runs the rulesctl CLI for tests, in-process (`runCli`: `main(argv, io)` over fake streams, fast)
 * or as a real process (`spawnCli`: `node bin/rulesctl.cjs` from a private copy of the build, needs
 * `npx tsc -p .` first). Both
 * return `{ code, stdout, stderr }` and never throw on a non-zero exit.
 *
 * The environment is exactly `env` (nothing inherited but what `testEnv()` puts in), so a test
 * never reads the developer's docker config, falcoctl.yaml or FALCOCTL_* variables.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll } from 'vitest';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The whole environment of the run (see `testEnv`). */
  env: Record<string, string | undefined>;
  /** Standard input: text, or (in-process only) a stream such as `fakeTty()`. */
  stdin?: string | Readable;
  cwd?: string;
  /** In-process only: pretend stdout/stderr are terminals (colour decisions). */
  tty?: boolean;
  /** Spawned only: kill after this many ms (default 60 s). */
  timeoutMs?: number;
}

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(REPO_ROOT, 'bin', 'rulesctl.cjs');

/**
 * A clean environment rooted at `home`: HOME, PATH (plus `extraPath` first) and
 * RULESCTL_CONFIG=`<home>/falcoctl.yaml` (so `/etc/falcoctl` is never read), then `extra`.
 */
export function testEnv(home: string, extra: Record<string, string | undefined> = {}, extraPath: string[] = []): Record<string, string | undefined> {
  return {
    HOME: home,
    PATH: [...extraPath, process.env.PATH ?? '/usr/bin:/bin'].join(':'),
    RULESCTL_CONFIG: join(home, 'falcoctl.yaml'),
    ...extra,
  };
}

function collector(tty: boolean): PassThrough & { isTTY?: boolean; text(): string } {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; text(): string };
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  if (tty) s.isTTY = true;
  s.text = () => Buffer.concat(chunks).toString('utf8');
  return s;
}

/** Runs `main(argv, io)` in this process with fake streams. */
export async function runCli(argv: string[], opts: RunOptions): Promise<CliResult> {
  const stdout = collector(opts.tty === true);
  const stderr = collector(opts.tty === true);
  const stdin = typeof opts.stdin === 'string' ? Readable.from([Buffer.from(opts.stdin)]) : (opts.stdin ?? Readable.from([]));
  const code = await main(argv, { env: opts.env, stdout, stderr, stdin, cwd: opts.cwd ?? process.cwd(), signal: new AbortController().signal });
  await new Promise((r) => setImmediate(r));
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

let snapshot: Promise<string> | undefined;
let snapshotDir: string | undefined;
const removeSnapshot = () => {
  if (snapshotDir !== undefined) rmSync(snapshotDir, { recursive: true, force: true });
  snapshotDir = undefined;
  snapshot = undefined;
};
afterAll(removeSnapshot);
process.once('exit', removeSnapshot);

/**
 * A private copy of the build (bin/, dist/, index/, package.json; node_modules linked), taken once
 * per test file when dist/ has not changed for 2 s, so a concurrent `tsc` rebuilding dist/ cannot
 * break a run half-way. `RULESCTL_TEST_DIST_SNAPSHOT=0` runs the repository's bin/ directly.
 */
function builtBin(): Promise<string> {
  if (process.env.RULESCTL_TEST_DIST_SNAPSHOT === '0') return Promise.resolve(BIN);
  snapshot ??= (async () => {
    const dist = join(REPO_ROOT, 'dist');
    for (let waited = 0; waited < 60_000 && Date.now() - newestMtime(dist) < 2_000; waited += 500) await sleep(500);
    const dir = mkdtempSync(join(tmpdir(), 'rulesctl-build-'));
    snapshotDir = dir;
    for (const part of ['bin', 'dist', 'index', 'package.json']) cpSync(join(REPO_ROOT, part), join(dir, part), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    return join(dir, 'bin', 'rulesctl.cjs');
  })();
  return snapshot;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/** Runs `node bin/rulesctl.cjs argv` (the built dist/, see `builtBin`) with exactly `opts.env`. */
export async function spawnCli(argv: string[], opts: RunOptions): Promise<CliResult> {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli-bundle', 'main.cjs'))) throw new Error('dist/ is missing: run `npm run build` (tsc, then the CLI bundle) before the CLI tests');
  if (opts.stdin !== undefined && typeof opts.stdin !== 'string') throw new Error('spawnCli takes stdin as a string');
  const r = await execa(process.execPath, [await builtBin(), ...argv], {
    env: opts.env, extendEnv: false, cwd: opts.cwd ?? REPO_ROOT, reject: false, stripFinalNewline: false,
    input: opts.stdin ?? '', timeout: opts.timeoutMs ?? 60_000,
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * A fake terminal on standard input for prompts: `isTTY`, a `setRawMode` that records calls, and
 * `type(text)` to send keystrokes once the prompt is reading.
 */
export function fakeTty(): PassThrough & { isTTY: true; rawModes: boolean[]; setRawMode(raw: boolean): void; type(text: string): void } {
  const s = new PassThrough() as PassThrough & { isTTY: true; rawModes: boolean[]; setRawMode(raw: boolean): void; type(text: string): void };
  s.isTTY = true;
  s.rawModes = [];
  s.setRawMode = (raw: boolean) => { s.rawModes.push(raw); };
  s.type = (text: string) => { s.write(text); };
  return s;
}
