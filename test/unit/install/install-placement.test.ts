/**
 * install() placing multi-file artifacts: staging never shows in a destination, a destination is
 * left as it was when the install fails.
 */
import { readdir } from 'node:fs/promises';
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
});
