/**
 * In-memory registry for install tests whose artifacts are whole trees (several files, directories):
 * `publish` packs `files` (path → content, `null` for a directory) in that order into a tar.gz layer.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { create } from 'tar';
import { buildArtifact } from '../../../src/artifact/build.js';
import { pushArtifact } from '../../../src/artifact/push.js';
import { mergeIndexes } from '../../../src/index/merged.js';
import type { InstallDeps, InstallRequest } from '../../../src/install/install.js';
import { createMemoryRegistry } from '../../../src/oci/memory/store.js';
import type { Target } from '../../../src/oci/target.js';
import type { TargetFactory } from '../../../src/oci/targets.js';
import { tmpDir } from '../../helpers/tmp.js';

export const HOST = 'memory.local';

export function treeWorld() {
  const registry = createMemoryRegistry(HOST);
  /** Called before a layer of this repository is fetched (after the configs and manifests). */
  const beforeLayer = new Map<string, () => Promise<void>>();
  const targets: TargetFactory = async (ref) => withHook(registry.repository(ref.repository), () => beforeLayer.get(ref.repository));
  const publish = async (repository: string, name: string, version: string, files: Record<string, string | null>) => {
    const dir = tmpDir('unit-install-tree');
    const tree = join(dir, 'tree');
    await mkdir(tree);
    for (const [p, c] of Object.entries(files)) {
      if (c === null) await mkdir(join(tree, p), { recursive: true });
      else {
        await mkdir(dirname(join(tree, p)), { recursive: true });
        await writeFile(join(tree, p), c, { mode: 0o644 });
      }
    }
    const tgz = join(dir, 'layer.tar.gz');
    await create({ gzip: true, file: tgz, cwd: tree, noDirRecurse: true, portable: true }, Object.keys(files));
    const built = await buildArtifact({ type: 'rulesfile', name, version, created: '2025-01-01T00:00:00Z', workDir: join(dir, 'w'), files: [{ path: tgz }] });
    return (await pushArtifact(registry.repository(repository), built, { tags: [version] })).rootDigest;
  };
  const deps: InstallDeps = { targets, index: mergeIndexes([]) };
  return { publish, deps, beforeLayer };
}

function withHook(target: Target, hook: () => (() => Promise<void>) | undefined): Target {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver) as unknown;
      if (prop !== 'fetch' || typeof value !== 'function') return typeof value === 'function' ? value.bind(t) : value;
      return async (...args: Parameters<Target['fetch']>) => {
        if (/tar/.test(args[0].mediaType)) await hook()?.();
        return (value as Target['fetch']).apply(t, args);
      };
    },
  });
}

export async function treeRequest(refs: string[]): Promise<InstallRequest> {
  const root = tmpDir('unit-install-tree-dest');
  const dirs = { rulesfilesDir: join(root, 'r'), pluginsDir: join(root, 'p'), assetsDir: join(root, 'a'), stateDir: join(root, 's') };
  for (const d of Object.values(dirs)) await mkdir(d);
  return { refs, ...dirs, allowedTypes: [], platform: { os: 'linux', architecture: 'amd64' }, resolveDeps: false, noVerify: true };
}
