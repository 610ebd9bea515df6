import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { placeFiles, rollback } from '../../../src/install/place.js';
import { cleanStaleStaging, placeAtomically, stagingPathFor, writeStaged } from '../../../src/install/staging.js';

const srcDir = join(dirname(fileURLToPath(import.meta.url)), '../../../src');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rulesctl-place-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function rules(tag: string, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    out += `- rule: ${tag} rule ${i}\n  desc: d\n  condition: evt.type = open and proc.name = "${tag}${i}"\n  output: out %proc.name\n  priority: WARNING\n`;
  }
  return out;
}

describe('writeStaged / placeAtomically', () => {
  it('names the staging file in the hidden staging subdirectory of the target\'s directory', () => {
    const p = stagingPathFor('/etc/falco/falco_rules.yaml');
    expect(p).toMatch(new RegExp(`^/etc/falco/\\.rulesctl-staging/\\.falco_rules\\.yaml\\.rulesctl-${process.pid}-[0-9a-f]{12}\\.tmp$`));
  });

  it('never makes a half-written staging file a regular file of the destination directory', async () => {
    // Falco loads every regular file of a listed rules directory (hidden or not, any extension) and
    // skips subdirectories; its directory watch fires on any entry created there.
    const target = join(dir, 'r.yaml');
    await writeFile(target, 'old');
    const regularFiles: string[][] = [];
    async function* body() {
      yield Buffer.from('half ');
      regularFiles.push(readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name));
      yield Buffer.from('whole');
    }
    const staged = await writeStaged(target, Readable.from(body()), 0o644);
    expect(regularFiles).toEqual([['r.yaml']]);
    expect(dirname(staged)).toBe(join(dir, '.rulesctl-staging'));
    expect(statSync(dirname(staged)).mode & 0o777).toBe(0o700);
    await placeFiles([{ staged, target, mode: 0o644 }]);
    expect(await readFile(target, 'utf8')).toBe('half whole');
    expect(await readdir(dir)).toEqual(['r.yaml']);
  });

  it('refuses a staging directory that is a symlink instead of writing through it', async () => {
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(join(dir, 'rules'));
    await mkdir(elsewhere);
    await symlink(elsewhere, join(dir, 'rules', '.rulesctl-staging'));
    await expect(writeStaged(join(dir, 'rules', 'r.yaml'), 'x', 0o644)).rejects.toMatchObject({ code: 'ERR_IO' });
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it('sets the mode exactly whatever the umask', async () => {
    const old = process.umask(0o077);
    try {
      const target = join(dir, 'r.yaml');
      await placeAtomically(target, 'a', 0o644);
      expect((await stat(target)).mode & 0o7777).toBe(0o644);
      await placeAtomically(target, Readable.from([Buffer.from('b')]), 0o640);
      expect((await stat(target)).mode & 0o7777).toBe(0o640);
      expect(await readFile(target, 'utf8')).toBe('b');
    } finally {
      process.umask(old);
    }
    expect(await readdir(dir)).toEqual(['r.yaml']);
  });

  it('leaves nothing behind when the stream fails', async () => {
    const bad = new Readable({
      read() {
        this.destroy(new Error('boom'));
      },
    });
    await expect(writeStaged(join(dir, 'x.yaml'), bad, 0o644)).rejects.toMatchObject({ code: 'ERR_IO' });
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('placeFiles / rollback', () => {
  it('replaces targets, keeps the last-good set outside and rolls back by rename', async () => {
    const rulesDir = join(dir, 'rules');
    const lastGood = join(dir, 'state', 'last-good');
    await mkdir(rulesDir);
    const a = join(rulesDir, 'a.yaml');
    const b = join(rulesDir, 'b.yaml');
    await writeFile(a, 'old-a', { mode: 0o644 });
    const changes = [
      { staged: await writeStaged(a, 'new-a', 0o644), target: a, mode: 0o644 },
      { staged: await writeStaged(b, 'new-b', 0o644), target: b, mode: 0o644 },
    ];
    const placement = await placeFiles(changes, { lastGoodDir: lastGood });
    expect(await readFile(a, 'utf8')).toBe('new-a');
    expect(await readFile(b, 'utf8')).toBe('new-b');
    expect((await readdir(rulesDir)).sort()).toEqual(['a.yaml', 'b.yaml']);
    expect(placement.files[1]!.backup).toBeUndefined();
    expect(await readFile(placement.files[0]!.backup!, 'utf8')).toBe('old-a');

    await rollback(placement);
    expect(await readFile(a, 'utf8')).toBe('old-a');
    expect(existsSync(b)).toBe(false);
  });

  it('keeps the last-good file as its own inode, so the replaced inode loses its last link', async () => {
    // Falco watches a listed rules file with IN_CLOSE_WRITE|IN_MOVE_SELF|IN_DELETE_SELF: the rename
    // over it is seen (IN_DELETE_SELF) only if the old inode has no other link left.
    const rulesDir = join(dir, 'rules');
    await mkdir(rulesDir);
    const t = join(rulesDir, 'falco_rules.yaml');
    await writeFile(t, 'old', { mode: 0o640 });
    const old = await stat(t);
    const placement = await placeFiles([{ staged: await writeStaged(t, 'new', 0o644), target: t, mode: 0o644 }], { lastGoodDir: join(dir, 'state', 'lg') });
    const backup = await stat(placement.files[0]!.backup!);
    expect(backup.ino).not.toBe(old.ino);
    expect(backup.nlink).toBe(1);
    expect(backup.mode & 0o7777).toBe(0o640);
    expect(await readFile(placement.files[0]!.backup!, 'utf8')).toBe('old');
    await rollback(placement);
    expect(await readFile(t, 'utf8')).toBe('old');
    expect((await stat(t)).mode & 0o7777).toBe(0o640);
  });

  it('restores already-placed files and drops unplaced staging files when one rename fails', async () => {
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    const c = join(dir, 'c.yaml');
    await writeFile(a, 'old-a');
    const changes = [
      { staged: await writeStaged(a, 'new-a', 0o644), target: a, mode: 0o644 },
      { staged: join(dir, '.b.yaml.rulesctl-1-ff.tmp'), target: b, mode: 0o644 },
      { staged: await writeStaged(c, 'new-c', 0o644), target: c, mode: 0o644 },
    ];
    await expect(placeFiles(changes, { lastGoodDir: join(dir, 'lg') })).rejects.toMatchObject({ code: 'ERR_IO' });
    expect(await readFile(a, 'utf8')).toBe('old-a');
    expect((await readdir(dir)).sort()).toEqual(['a.yaml', 'lg']);
  });

  it('allOrNothing: puts back replaced files and removes created ones when a later rename fails', async () => {
    const rules = join(dir, 'rules');
    const plugins = join(dir, 'plugins');
    await mkdir(rules);
    await mkdir(plugins);
    const a = join(rules, 'a.yaml');
    const created = join(plugins, 'libnew.so');
    const b = join(rules, 'b.yaml');
    await writeFile(a, 'a v1', { mode: 0o640 });
    await mkdir(b); // a directory where b must go: placing the third file fails (EISDIR)
    const changes = [
      { staged: await writeStaged(a, 'a v2', 0o644), target: a, mode: 0o644 },
      { staged: await writeStaged(created, 'new', 0o755), target: created, mode: 0o755 },
      { staged: await writeStaged(b, 'b v2', 0o644), target: b, mode: 0o644 },
    ];
    await expect(placeFiles(changes, { allOrNothing: true })).rejects.toMatchObject({ code: 'ERR_IO' });
    expect(await readFile(a, 'utf8')).toBe('a v1');
    expect((await stat(a)).mode & 0o7777).toBe(0o640);
    expect(await readdir(plugins)).toEqual([]);
    expect((await readdir(rules)).sort()).toEqual(['a.yaml', 'b.yaml']);
    expect((await stat(b)).isDirectory()).toBe(true);
  });

  it('allOrNothing: a whole placement keeps no backup and offers no rollback', async () => {
    const a = join(dir, 'a.yaml');
    await writeFile(a, 'a v1');
    const p = await placeFiles([{ staged: await writeStaged(a, 'a v2', 0o644), target: a, mode: 0o644 }], { allOrNothing: true });
    expect(await readFile(a, 'utf8')).toBe('a v2');
    expect(await readdir(dir)).toEqual(['a.yaml']);
    expect(p).toEqual({ files: [{ target: a, backup: undefined }], lastGoodDir: undefined });
    await expect(rollback(p)).rejects.toMatchObject({ code: 'ERR_IO' });
  });

  it('removes a dead run\'s allOrNothing backup directory from the staging subdirectory', async () => {
    const dead = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '0']);
      c.on('exit', () => resolve(c.pid!));
    });
    const left = join(dir, '.rulesctl-staging', `backup-${dead}-0a1b2c`);
    await mkdir(left, { recursive: true });
    await writeFile(join(left, '0123456789abcdef-a.yaml'), 'a v1');
    expect(await cleanStaleStaging(dir)).toEqual([left]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses to roll back without a last-good dir', async () => {
    const t = join(dir, 'a.yaml');
    const p = await placeFiles([{ staged: await writeStaged(t, 'x', 0o644), target: t, mode: 0o644 }]);
    await expect(rollback(p)).rejects.toMatchObject({ code: 'ERR_IO' });
  });

  it('fails with an actionable error across filesystems instead of copying', async () => {
    const shm = existsSync('/dev/shm') ? await mkdtemp('/dev/shm/rulesctl-') : undefined;
    if (shm === undefined || statSync(shm).dev === statSync(dir).dev) {
      throw new Error('test needs /dev/shm on a filesystem other than the temp dir');
    }
    try {
      const staged = join(shm, '.a.yaml.rulesctl-1-00.tmp');
      await writeFile(staged, 'new');
      const target = join(dir, 'a.yaml');
      await writeFile(target, 'old');
      const err = await placeFiles([{ staged, target, mode: 0o644 }]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_IO', details: { errno: 'EXDEV' } });
      expect((err as Error).message).toContain('different filesystems');
      expect((err as { hint: string }).hint).toContain('same filesystem');
      expect(await readFile(target, 'utf8')).toBe('old');
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });
});

describe('cleanStaleStaging', () => {
  it('removes staging files of dead pids and of our own unused ones, keeps live ones', async () => {
    const dead = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '0']);
      c.on('exit', () => resolve(c.pid!));
    });
    const deadFile = join(dir, `.r.yaml.rulesctl-${dead}-ab12.tmp`);
    const mineUnused = join(dir, `.r.yaml.rulesctl-${process.pid}-cd34.tmp`);
    const liveFile = join(dir, `.r.yaml.rulesctl-${process.ppid}-ef56.tmp`);
    for (const f of [deadFile, mineUnused, liveFile, join(dir, 'r.yaml')]) await writeFile(f, 'x');
    const inUse = await writeStaged(join(dir, 'r.yaml'), 'y', 0o644);
    const removed = await cleanStaleStaging(dir);
    expect(removed.sort()).toEqual([deadFile, mineUnused].sort());
    expect(existsSync(liveFile) && existsSync(inUse)).toBe(true);
  });

  it('removes dead runs\' files in the staging subdirectory, then the subdirectory once empty', async () => {
    const dead = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '0']);
      c.on('exit', () => resolve(c.pid!));
    });
    const staging = join(dir, '.rulesctl-staging');
    await mkdir(staging);
    const deadFile = join(staging, `.r.yaml.rulesctl-${dead}-ab12.tmp`);
    const liveFile = join(staging, `.r.yaml.rulesctl-${process.ppid}-ef56.tmp`);
    for (const f of [deadFile, liveFile, join(dir, 'r.yaml')]) await writeFile(f, 'x');
    expect(await cleanStaleStaging(dir)).toEqual([deadFile]);
    expect(await readdir(staging)).toEqual([`.r.yaml.rulesctl-${process.ppid}-ef56.tmp`]);
    await rm(liveFile);
    await writeFile(deadFile, 'half');
    expect(await cleanStaleStaging(dir)).toEqual([deadFile]);
    expect(await readdir(dir)).toEqual(['r.yaml']);
  });
});

/** Transpiles place.ts, staging.ts and errors.ts so a plain `node` child can run the real code. */
async function buildChild(out: string): Promise<string> {
  await mkdir(join(out, 'install'), { recursive: true });
  await mkdir(join(out, 'util'), { recursive: true });
  for (const rel of ['errors.ts', 'install/place.ts', 'install/staging.ts', 'util/process.ts']) {
    const src = await readFile(join(srcDir, rel), 'utf8');
    const js = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    await writeFile(join(out, rel.replace(/\.ts$/, '.js')), js);
  }
  await writeFile(join(out, 'package.json'), '{"type":"module"}');
  const script = join(out, 'placer.js');
  await writeFile(
    script,
    `import { readFileSync } from 'node:fs';
import { placeFiles } from './install/place.js';
import { writeStaged } from './install/staging.js';
const [target, a, b, lastGood] = process.argv.slice(2);
const bufs = [readFileSync(a), readFileSync(b)];
process.stdout.write('ready\\n');
for (let i = 0; ; i++) {
  const staged = await writeStaged(target, bufs[i % 2], 0o644);
  await placeFiles([{ staged, target, mode: 0o644 }], { lastGoodDir: lastGood });
}
`,
  );
  return script;
}

function startPlacer(script: string, args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.once('error', reject);
    child.stdout!.once('data', () => resolve(child));
  });
}

describe('crash safety', () => {
  it('a reader only ever sees the old or the new file while the placer is killed -9 at random', async () => {
    const script = await buildChild(join(dir, 'child'));
    const rulesDir = join(dir, 'rules');
    await mkdir(rulesDir);
    const target = join(rulesDir, 'falco_rules.yaml');
    const A = Buffer.from(rules('alpha', 3000));
    const B = Buffer.from(rules('beta', 2500));
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const good = new Set([sha(A), sha(B)]);
    await writeFile(join(dir, 'A'), A);
    await writeFile(join(dir, 'B'), B);
    await writeFile(target, A);

    let reads = 0;
    const bad: string[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const got = readFileSync(target);
        reads++;
        if (!good.has(sha(got))) bad.push(`read ${reads}: ${got.length} bytes`);
        await new Promise((r) => setImmediate(r));
      }
    })();

    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const child = await startPlacer(script, [target, join(dir, 'A'), join(dir, 'B'), join(dir, 'last-good')]);
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 40));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      const now = readFileSync(target);
      expect(good.has(sha(now))).toBe(true);
      seen.add(sha(now));
    }
    reading = false;
    await reader;

    expect(bad).toEqual([]);
    expect(reads).toBeGreaterThan(20);
    expect(seen.size).toBe(2);
    await cleanStaleStaging(rulesDir);
    expect(await readdir(rulesDir)).toEqual(['falco_rules.yaml']);
  }, 60_000);
});

describe('last-good on another filesystem', () => {
  it('copies the old file and restores it through a staging file', async () => {
    const shm = await mkdtemp('/dev/shm/rulesctl-lg-');
    try {
      const t = join(dir, 'a.yaml');
      await writeFile(t, 'old');
      await link(t, join(dir, 'keep')).catch(() => {});
      const p = await placeFiles([{ staged: await writeStaged(t, 'new', 0o644), target: t, mode: 0o644 }], {
        lastGoodDir: join(shm, 'lg'),
      });
      expect(await readFile(t, 'utf8')).toBe('new');
      await rollback(p);
      expect(await readFile(t, 'utf8')).toBe('old');
      expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });
});
