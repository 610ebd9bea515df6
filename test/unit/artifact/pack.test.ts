import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Parser } from 'tar';
import { isTarGz, packPath, prepareLayer } from '../../../src/artifact/pack.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rulesctl-pack-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const rules = new URL('../../../fixtures/rules/valid_rules.yaml', import.meta.url);

function input(name = 'falco_rules.yaml', mode = 0o644): string {
  const p = join(dir, name);
  copyFileSync(rules, p);
  chmodSync(p, mode);
  return p;
}

function field(h: Buffer, off: number, len: number): string {
  return h.subarray(off, off + len).toString('latin1');
}

async function listEntries(tgz: string): Promise<{ path: string; type: string; size: number; mode: number; mtime: number }[]> {
  const out: { path: string; type: string; size: number; mode: number; mtime: number }[] = [];
  const p = new Parser({ strict: true, onReadEntry: (e) => {
    out.push({ path: e.path, type: e.type, size: e.size, mode: e.mode ?? -1, mtime: e.mtime?.getTime() ?? -1 });
    e.resume();
  } });
  await new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
    p.end(readFileSync(tgz));
  });
  return out;
}

describe('packPath', () => {
  it('archives one file as <first token>.tar.gz with a Go-shaped USTAR header', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    const layer = await packPath(input('my.rules.yaml'), out);
    expect(layer.title).toBe('my.tar.gz');
    const gz = readFileSync(layer.path);
    expect(layer.size).toBe(gz.length);
    expect(layer.digest).toBe(`sha256:${createHash('sha256').update(gz).digest('hex')}`);
    // gzip header: magic, deflate, no flags (no name), mtime 0, XFL 0, OS 255 as Go writes it
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

    const tar = gunzipSync(gz);
    const content = readFileSync(rules);
    expect(tar.length).toBe(512 + Math.ceil(content.length / 512) * 512 + 1024);
    const h = tar.subarray(0, 512);
    expect(field(h, 0, 100)).toBe('my.rules.yaml'.padEnd(100, '\0'));
    expect(field(h, 100, 8)).toBe('0000644\0');
    expect(field(h, 108, 8)).toBe('0000000\0');
    expect(field(h, 116, 8)).toBe('0000000\0');
    expect(field(h, 124, 12)).toBe(`${content.length.toString(8).padStart(11, '0')}\0`);
    expect(field(h, 136, 12)).toBe('00000000000\0');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    expect(field(h, 148, 8)).toBe(`${sum.toString(8).padStart(6, '0')}\0 `);
    expect(field(h, 156, 1)).toBe('0');
    expect(field(h, 157, 100)).toBe('\0'.repeat(100));
    expect(field(h, 257, 8)).toBe('ustar\x0000');
    expect(field(h, 265, 64)).toBe('\0'.repeat(64)); // uname, gname
    expect(field(h, 329, 16)).toBe('0000000\x000000000\0');
    expect(field(h, 345, 167)).toBe('\0'.repeat(167));
    expect(tar.subarray(512, 512 + content.length).equals(content)).toBe(true);
    expect(tar.subarray(tar.length - 1024).every((b) => b === 0)).toBe(true);

    expect(await listEntries(layer.path)).toEqual([{ path: 'my.rules.yaml', type: 'File', size: content.length, mode: 0o644, mtime: 0 }]);
  });

  it('is deterministic and keeps the permission bits', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    mkdirSync(a);
    mkdirSync(b);
    const src = input('falco_rules.yaml', 0o640);
    const first = await packPath(src, a);
    const second = await packPath(src, b);
    expect(first.digest).toBe(second.digest);
    expect(readFileSync(first.path).equals(readFileSync(second.path))).toBe(true);
    expect(first.title).toBe('falco_rules.tar.gz');
    expect((await listEntries(first.path))[0]!.mode).toBe(0o640);
  });

  it('archives a directory: its header, then files flattened to base names in walk order', async () => {
    const src = join(dir, 'plugin.d');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'b.so'), 'b');
    writeFileSync(join(src, 'sub', 'a.txt'), 'a');
    writeFileSync(join(src, 'c.so'), 'c');
    const out = join(dir, 'out');
    mkdirSync(out);
    const layer = await packPath(src, out);
    expect(layer.title).toBe('plugin.tar.gz');
    expect((await listEntries(layer.path)).map((e) => `${e.type}:${e.path}`)).toEqual(['Directory:plugin.d/', 'File:b.so', 'File:c.so', 'File:a.txt']);
  });
});

describe('prepareLayer', () => {
  it('uploads a user .tar.gz byte for byte', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    const built = await packPath(input(), out);
    const user = join(dir, 'custom-name.tgz');
    copyFileSync(built.path, user);
    const layer = await prepareLayer(user, join(dir));
    expect(layer).toEqual({ path: user, title: 'custom-name.tgz', size: built.size, digest: built.digest, packed: false });
  });

  it('packs what is not a tar.gz (plain, gzip of non-tar)', async () => {
    const plain = input();
    expect(await isTarGz(plain)).toBe(false);
    const notTar = join(dir, 'x.gz');
    const { gzipSync } = await import('node:zlib');
    writeFileSync(notTar, gzipSync(Buffer.from('hello, not a tar archive at all '.repeat(40))));
    expect(await isTarGz(notTar)).toBe(false);
    writeFileSync(join(dir, 'empty'), '');
    expect(await isTarGz(join(dir, 'empty'))).toBe(false);
    await expect(isTarGz(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ERR_IO' });
  });
});
