/**
 * The executable's V8 code cache (bin/code-cache.cjs): written per command after a successful run,
 * read back (not rewritten) when V8 accepts it, replaced when damaged (garbage, truncated, bytes
 * flipped: V8 would abort on those) or rejected,
 * never written by a failed run, with RULESCTL_CODE_CACHE=0, or where it cannot be written — and
 * the CLI's output is the same with or without it. Each test works on its own copy of the build.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { REPO_ROOT } from './_run.js';

const { commandOf } = createRequire(import.meta.url)('../../bin/code-cache.cjs') as { commandOf(argv: string[]): string };
const copies: string[] = [];
afterAll(() => { for (const c of copies) rmSync(c, { recursive: true, force: true }); });

/** A copy of the build without any code cache; returns its root. */
function freshBuild(): string {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli-bundle', 'main.cjs'))) throw new Error('dist/ is missing: run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'rulesctl-code-cache-'));
  copies.push(dir);
  for (const part of ['bin', 'dist', 'index', 'package.json']) cpSync(join(REPO_ROOT, part), join(dir, part), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const f of caches(dir)) rmSync(join(dir, 'dist', 'cli-bundle', f));
  return dir;
}

const bundleDir = (root: string) => join(root, 'dist', 'cli-bundle');
const caches = (root: string) => readdirSync(bundleDir(root)).filter((f) => f.endsWith('.cache') || f.endsWith('.tmp'));
const cacheFile = (root: string, command: string) => join(bundleDir(root), `main.cjs.${command}.cache`);

async function run(root: string, argv: string[], extra: Record<string, string> = {}) {
  const r = await execa(process.execPath, [join(root, 'bin', 'rulesctl.cjs'), ...argv], {
    env: { HOME: root, PATH: process.env.PATH ?? '', RULESCTL_CONFIG: join(root, 'falcoctl.yaml'), ...extra },
    extendEnv: false, reject: false, cwd: root,
  });
  return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('commandOf: which cache a command line uses', () => {
  it('knows every top-level command of the CLI (a new one would share the `root` cache)', async () => {
    const io = { env: {}, stdout: new PassThrough(), stderr: new PassThrough(), cwd: '/', signal: new AbortController().signal };
    const program = await buildProgram(io);
    const names = program.commands.map((c) => c.name());
    expect(names.length).toBeGreaterThan(3);
    for (const name of names) {
      const sub = program.commands.find((c) => c.name() === name)!.commands[0]?.name();
      expect(commandOf(sub ? [name, sub] : [name])).toBe(sub ? `${name}-${sub}` : name);
    }
  });

  it('names the command and subcommand, skipping flags and their values', () => {
    expect(commandOf(['artifact', 'install', 'falco-rules:3'])).toBe('artifact-install');
    expect(commandOf(['--log-level', 'warn', 'artifact', 'install'])).toBe('artifact-install');
    expect(commandOf(['registry', 'push', 'ghcr.io/x/y:1', 'f.yaml', '--version', '1.0.0'])).toBe('registry-push');
    expect(commandOf(['--version'])).toBe('version');
    expect(commandOf(['index'])).toBe('index');
    expect(commandOf(['artifact', '--help'])).toBe('artifact');
    expect(commandOf([])).toBe('root');
  });
});

describe('the code cache of bin/rulesctl.cjs', () => {
  const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version as string;

  it('is written by the first successful run of a command and then read, not rewritten', async () => {
    const root = freshBuild();
    const first = await run(root, ['--version']);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout.trim()).toBe(version);
    const written = statSync(cacheFile(root, 'version'));
    expect(written.size).toBeGreaterThan(10_000);
    const second = await run(root, ['--version']);
    expect(second).toEqual(first);
    const after = statSync(cacheFile(root, 'version'));
    // Accepted by V8: not replaced (a rewrite renames a new file over it: new inode).
    expect([after.ino, after.mtimeMs]).toEqual([written.ino, written.mtimeMs]);
    expect(caches(root)).toEqual(['main.cjs.version.cache']);
  });

  it('gives the same output with and without it', async () => {
    const root = freshBuild();
    const off = await run(root, ['artifact', 'list'], { RULESCTL_CODE_CACHE: '0' });
    expect(off.code).toBe(0);
    expect(off.stdout).toContain('falco-rules');
    expect(caches(root)).toEqual([]);
    const writing = await run(root, ['artifact', 'list']);
    const reading = await run(root, ['artifact', 'list']);
    expect(caches(root)).toEqual(['main.cjs.artifact-list.cache']);
    expect(writing).toEqual(off);
    expect(reading).toEqual(off);
  });

  it.each([
    ['garbage', (valid: Buffer) => Buffer.alloc(valid.length, 0x5a)],
    ['a truncated cache', (valid: Buffer) => valid.subarray(0, Math.floor(valid.length / 2))],
    // V8 (release builds) does not checksum its data: fed these bytes it aborts the process (exit 133).
    ['V8 data with bytes flipped, same length', (valid: Buffer) => {
      const bad = Buffer.from(valid);
      for (let i = 1; i <= 20; i++) bad[Math.floor((bad.length * i) / 21)]! ^= 0xff;
      return bad;
    }],
  ])('is not used, and is replaced, when damaged (%s); the command still works', async (_name, spoil) => {
    const root = freshBuild();
    await run(root, ['--version']);
    const valid = readFileSync(cacheFile(root, 'version'));
    const bad = spoil(valid);
    writeFileSync(cacheFile(root, 'version'), bad);
    const r = await run(root, ['--version']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim()).toBe(version);
    expect(readFileSync(cacheFile(root, 'version')).equals(bad)).toBe(false);
    // The new one is accepted: the next run leaves it as it is.
    const rewritten = statSync(cacheFile(root, 'version'));
    expect((await run(root, ['--version'])).code).toBe(0);
    const after = statSync(cacheFile(root, 'version'));
    expect([after.ino, after.mtimeMs]).toEqual([rewritten.ino, rewritten.mtimeMs]);
  });

  it('is used only with the build that made it (V8 itself compares only the source length)', async () => {
    const root = freshBuild();
    await run(root, ['--version']);
    const bundle = join(bundleDir(root), 'main.cjs');
    const source = readFileSync(bundle, 'latin1');
    const id = /^\/\/ rulesctl-bundle ([0-9a-f]{16})\n/.exec(source)?.[1];
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(readFileSync(cacheFile(root, 'version')).subarray(0, 17).toString('latin1')).toBe(`${id} `);
    // Another build of the same length: the old cache must not be fed to V8.
    const other = id!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    writeFileSync(bundle, source.replace(`rulesctl-bundle ${id}`, `rulesctl-bundle ${other}`), 'latin1');
    const before = statSync(cacheFile(root, 'version'));
    const r = await run(root, ['--version']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim()).toBe(version);
    const after = statSync(cacheFile(root, 'version'));
    expect(after.ino).not.toBe(before.ino);
    expect(readFileSync(cacheFile(root, 'version')).subarray(0, 17).toString('latin1')).toBe(`${other} `);
  });

  it('is not written by a failed run', async () => {
    const root = freshBuild();
    const r = await run(root, ['artifact', 'install', '--an-unknown-flag']);
    expect(r.code).toBe(2);
    expect(caches(root)).toEqual([]);
  });

  it('is skipped silently where it cannot be written, leaving no temporary file', async () => {
    const root = freshBuild();
    // A directory where the cache file should be: reading and renaming over it both fail (as root too).
    mkdirSync(cacheFile(root, 'version'));
    const r = await run(root, ['--version']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim()).toBe(version);
    expect(caches(root)).toEqual(['main.cjs.version.cache']);
    expect(statSync(cacheFile(root, 'version')).isDirectory()).toBe(true);
  });
});
