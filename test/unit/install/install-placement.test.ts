/**
 * install() placing multi-file artifacts: staging never shows in a destination, a destination is
 * left as it was when the install fails.
 */
import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { install } from '../../../src/install/install.js';
import { HOST, treeRequest, treeWorld } from './_tree-world.js';

describe('install placement', () => {
  it('refuses an artifact that ships the staging directory\'s name, before writing anything', async () => {
    const w = treeWorld();
    await w.publish('rules/s', 's-rules', '1.0.0', { 'ok.yaml': 'ok\n', '.rulesctl-staging': 'mine\n' });
    const req = await treeRequest([`${HOST}/rules/s:1.0.0`]);
    await expect(install(req, w.deps)).rejects.toMatchObject({ code: 'ERR_UNSAFE_ARCHIVE', message: expect.stringContaining('".rulesctl-staging" is reserved') });
    expect(await readdir(req.rulesfilesDir)).toEqual([]);
    expect(await readdir(req.stateDir)).toEqual(['.rulesctl']);
  });

  it('a failed rename puts back the files already replaced, removes the new ones, writes no state', async () => {
    const w = treeWorld();
    await w.publish('rules/x', 'x-rules', '1.0.0', { 'a.yaml': 'a v1\n', 'b.yaml': 'b v1\n' });
    await w.publish('rules/x', 'x-rules', '2.0.0', { 'a.yaml': 'a v2\n', 'sub/': null, 'sub/new.yaml': 'new v2\n', 'b.yaml': 'b v2\n' });
    await w.publish('rules/y', 'y-rules', '1.0.0', { 'c.yaml': 'c v1\n' });
    const req = await treeRequest([`${HOST}/rules/x:1.0.0`]);
    await install(req, w.deps);
    const state = await snapshot(req.stateDir);
    // x:2 is staged and checked; then, while y's layer is pulled, b.yaml becomes a directory: the
    // placement replaces a.yaml, creates sub/new.yaml, and fails on b.yaml (EISDIR), before y's c.yaml.
    w.beforeLayer.set('rules/y', async () => {
      await rm(join(req.rulesfilesDir, 'b.yaml'));
      await mkdir(join(req.rulesfilesDir, 'b.yaml'));
    });
    await expect(install({ ...req, refs: [`${HOST}/rules/x:2.0.0`, `${HOST}/rules/y:1.0.0`] }, w.deps)).rejects.toMatchObject({ code: 'ERR_IO' });
    expect(await readFile(join(req.rulesfilesDir, 'a.yaml'), 'utf8')).toBe('a v1\n');
    expect(await readdir(req.rulesfilesDir, { recursive: true })).toEqual(['a.yaml', 'b.yaml']);
    expect(await snapshot(req.stateDir)).toEqual(state);
  });
});

describe('install: artifacts of one install against each other', () => {
  const refs = (...names: string[]) => names.map((n) => `${HOST}/rules/${n}:1.0.0`);

  it('refuses a path two artifacts ship, naming both, before writing anything', async () => {
    const w = treeWorld();
    await w.publish('rules/a', 'a-rules', '1.0.0', { 'a.yaml': 'a\n', 'shared.yaml': 'from A\n' });
    await w.publish('rules/b', 'b-rules', '1.0.0', { 'shared.yaml': 'from B\n' });
    const req = await treeRequest(refs('a', 'b'));
    const err = await install(req, w.deps).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ERR_PATH_CONFLICT',
      message: `cannot install these artifacts together: artifacts "${HOST}/rules/a:1.0.0" and "${HOST}/rules/b:1.0.0" both install "${join(req.rulesfilesDir, 'shared.yaml')}"`,
    });
    expect(await readdir(req.rulesfilesDir)).toEqual([]);
    expect(await snapshot(req.stateDir)).toEqual({});
  });

  it('refuses it too when one of them is already installed (no content flipping from run to run)', async () => {
    const w = treeWorld();
    await w.publish('rules/a', 'a-rules', '1.0.0', { 'shared.yaml': 'from A\n' });
    await w.publish('rules/b', 'b-rules', '1.0.0', { 'shared.yaml': 'from B\n' });
    const req = await treeRequest(refs('a'));
    await install(req, w.deps);
    const state = await snapshot(req.stateDir);
    for (const order of [refs('a', 'b'), refs('b', 'a')]) {
      await expect(install({ ...req, refs: order }, w.deps)).rejects.toMatchObject({ code: 'ERR_PATH_CONFLICT', details: { path: join(req.rulesfilesDir, 'shared.yaml') } });
      expect(await readFile(join(req.rulesfilesDir, 'shared.yaml'), 'utf8')).toBe('from A\n');
      expect(await snapshot(req.stateDir)).toEqual(state);
    }
  });

  it('refuses a file of one artifact where another has a directory, in either order', async () => {
    const w = treeWorld();
    await w.publish('rules/a', 'a-rules', '1.0.0', { 'foo/': null, 'foo/bar.yaml': 'A\n' });
    await w.publish('rules/b', 'b-rules', '1.0.0', { foo: 'B\n' });
    for (const order of [refs('a', 'b'), refs('b', 'a')]) {
      const req = await treeRequest(order);
      await expect(install(req, w.deps)).rejects.toMatchObject({
        code: 'ERR_PATH_CONFLICT',
        message: `cannot install these artifacts together: artifact "${HOST}/rules/b:1.0.0" installs the file "${join(req.rulesfilesDir, 'foo')}" where artifact "${HOST}/rules/a:1.0.0" installs a directory`,
      });
      expect(await readdir(req.rulesfilesDir)).toEqual([]);
      expect(await snapshot(req.stateDir)).toEqual({});
    }
  });

  it('lets two artifacts share a directory', async () => {
    const w = treeWorld();
    await w.publish('rules/a', 'a-rules', '1.0.0', { 'd/': null, 'd/a.yaml': 'A\n' });
    await w.publish('rules/b', 'b-rules', '1.0.0', { 'd/b.yaml': 'B\n' });
    const req = await treeRequest(refs('a', 'b'));
    expect((await install(req, w.deps)).installed).toHaveLength(2);
    expect((await readdir(req.rulesfilesDir, { recursive: true })).sort()).toEqual(['d', 'd/a.yaml', 'd/b.yaml']);
    expect((await install(req, w.deps)).unchanged).toHaveLength(2);
  });
});

/** Every file under `dir` (relative path → content). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of (await readdir(dir, { recursive: true })).sort()) {
    const p = join(dir, rel);
    if ((await lstat(p)).isFile()) out[relative(dir, p)] = await readFile(p, 'utf8');
  }
  return out;
}
