/** writeFileAtomic: the temp files of killed writers of the same target are removed by the next write. */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../../src/util/atomic-write.js';
import { tmpDir } from '../../helpers/tmp.js';

const deadPid = () => new Promise<number>((resolve) => {
  const c = spawn(process.execPath, ['-e', '0']);
  c.on('exit', () => resolve(c.pid!));
});

describe('writeFileAtomic', () => {
  it('removes temp files a killed writer left for the same target, keeps live writers\' and other targets\'', async () => {
    const dir = tmpDir('unit-atomic-write');
    await mkdir(dir, { recursive: true });
    const dead = await deadPid();
    const left = {
      dead: `.rulesctl.lock.json.${dead}.0a1b2c3d4e5f.tmp`,
      ownUnused: `.rulesctl.lock.json.${process.pid}.00aa11bb22cc.tmp`,
      live: `.rulesctl.lock.json.${process.ppid}.ffeeddccbbaa.tmp`,
      otherTarget: `.config.yaml.${dead}.0a1b2c3d4e5f.tmp`,
      unrelated: '.rulesctl.lock.json.notes.tmp',
    };
    for (const name of Object.values(left)) await writeFile(join(dir, name), '{"version":1,"entr');
    await writeFileAtomic(join(dir, 'rulesctl.lock.json'), '{"version":1}\n');
    expect(await readFile(join(dir, 'rulesctl.lock.json'), 'utf8')).toBe('{"version":1}\n');
    expect((await readdir(dir)).sort()).toEqual([left.otherTarget, left.live, left.unrelated, 'rulesctl.lock.json'].sort());
  });
});
