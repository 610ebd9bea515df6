/** The install scratch area: per-process, and areas of dead processes are removed at the next install. */
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openScratch } from '../../../src/install/scratch.js';
import { tmpDir } from '../../helpers/tmp.js';

describe('openScratch', () => {
  it('removes areas of dead processes and our pid when unused, keeps live ones, releases its own', async () => {
    const state = tmpDir('unit-scratch');
    const base = join(state, '.rulesctl', 'work');
    const dead = join(base, '2147483646-abcd');
    const live = join(base, `${process.ppid}-beef`);
    const ownUnused = join(base, `${process.pid}-0123`);
    for (const d of [dead, live, ownUnused]) await mkdir(join(d, '.rulesctl-staging-x'), { recursive: true });
    const a = await openScratch(state);
    const b = await openScratch(state);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(ownUnused)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(a.dir) && existsSync(b.dir)).toBe(true);
    await a.release();
    expect((await readdir(base)).sort()).toEqual([`${process.ppid}-beef`, b.dir.split('/').pop()].sort());
    await b.release();
  });
});
