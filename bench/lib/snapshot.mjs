// A private copy of the build (dist/, bin/, package.json, index/; node_modules linked) so a
// benchmark is not broken or skewed by someone rebuilding dist/ while it runs.
import { cp, mkdir, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Copies the build of `root` under `dir`; resolves to the copy's root (use `<copy>/bin/rulesctl.cjs`). */
export async function snapshotBuild(root, dir) {
  const copy = join(dir, 'rulesctl');
  await mkdir(copy, { recursive: true });
  for (const part of ['dist', 'bin', 'package.json', 'index']) {
    if (existsSync(join(root, part))) await cp(join(root, part), join(copy, part), { recursive: true });
  }
  await symlink(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
  return copy;
}
