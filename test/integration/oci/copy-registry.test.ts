import { afterAll, describe, expect, it } from 'vitest';
import { copy } from '../../../src/oci/copy.js';
import { openLayout } from '../../../src/oci/layout/store.js';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import type { CredentialSource } from '../../../src/oci/auth/types.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { skopeo, skopeoInspectRaw } from '../../helpers/skopeo.js';
import { tmpDir } from '../../helpers/tmp.js';
import { falcoRulesTarball, pushMultiPlatform, pushRulesfile, readStream } from '../../unit/oci/layout/fixtures.js';

const regs = getRegistries();
const credentials: CredentialSource = async (host) => {
  const reg = Object.values(regs).find((r) => r.host === host);
  return reg?.username ? { kind: 'basic', username: reg.username, password: reg.password ?? '' } : undefined;
};
const client = createRegistryClient({ plainHttp: (host) => host === regs.open.host || host === regs.token.host, credentials });
afterAll(() => client.close());

async function falcoLayout(tag: string) {
  const dir = tmpDir('reg-layout');
  const store = await openLayout(dir, { create: true });
  const pushed = await pushRulesfile(store, tag, { layer: await falcoRulesTarball(tmpDir('rules-src')) });
  return { dir, store, ...pushed };
}

describe('copy between a registry and OCI layouts', () => {
  it('copies layout → registry and back, byte for byte', async () => {
    const { dir, store, manifest, manifestBytes, layer } = await falcoLayout('3.0.0');
    const repoName = uniqueRepo('copy/layout-to-registry');
    const repo = client.repository({ registry: regs.open.host, repository: repoName });

    const up = await copy(store, '3.0.0', repo, ['3.0.0', 'latest']);
    expect(up).toMatchObject({ blobsCopied: 3, blobsSkipped: 0, blobsMounted: 0 });
    expect((await skopeoInspectRaw(regs.open, repoName, 'latest')).equals(manifestBytes)).toBe(true);

    const back = await openLayout(tmpDir('reg-back'), { create: true });
    const down = await copy(repo, '3.0.0', back, '3.0.0');
    expect(down.descriptor.digest).toBe(manifest.digest);
    expect(down.blobsCopied).toBe(3);
    expect(await readStream(await back.fetch(layer))).toHaveLength(layer.size);
    const raw = await skopeo(['inspect', '--raw', `oci:${back.root}:3.0.0`]);
    expect(raw.exitCode, raw.stderr).toBe(0);
    expect(Buffer.from(raw.stdout).equals(manifestBytes)).toBe(true);
    expect(dir).not.toBe(back.root);
  });

  it('copies one platform of a registry index into a layout', async () => {
    const src = await openLayout(tmpDir('reg-multi'), { create: true });
    const { children } = await pushMultiPlatform(src, 'plugin');
    const repo = client.repository({ registry: regs.open.host, repository: uniqueRepo('copy/multi') });
    await copy(src, 'plugin', repo, 'plugin');
    const dst = await openLayout(tmpDir('reg-multi-dst'), { create: true });
    const one = await copy(repo, 'plugin', dst, 'plugin', { platform: { os: 'linux', architecture: 'amd64' } });
    expect(one.descriptor.digest).toBe(children[0]!.manifest.digest);
    expect(await dst.exists(children[1]!.layer)).toBe(false);
  });

  it('mounts blobs across repositories of the token registry, then skips what exists', async () => {
    const { store, manifest, config } = await falcoLayout('v1');
    const fromName = uniqueRepo('copy/mount-src');
    const toName = uniqueRepo('copy/mount-dst');
    const from = client.repository({ registry: regs.token.host, repository: fromName });
    const to = client.repository({ registry: regs.token.host, repository: toName });
    await copy(store, 'v1', from, 'v1');

    const mounted = await copy(from, 'v1', to, 'v1');
    expect(mounted).toMatchObject({ blobsMounted: 2, blobsCopied: 1, blobsSkipped: 0 });
    const log = await regs.token.accessLog();
    const mounts = log.filter((e) => e.method === 'POST' && e.path.startsWith(`/v2/${toName}/blobs/uploads/`) && e.path.includes('mount=') && e.status === 201);
    expect(mounts).toHaveLength(2);
    expect((await to.resolve('v1')).digest).toBe(manifest.digest);

    const again = await copy(from, 'v1', to, ['v1', 'again']);
    expect(again).toMatchObject({ blobsCopied: 0, blobsMounted: 0, blobsSkipped: 1, bytes: 0 });
    expect((await to.resolve('again')).digest).toBe(manifest.digest);

    // a new artifact sharing the config: the config is skipped, the rest copied
    const other = await pushRulesfile(store, 'v2', { content: 'other rules' });
    const events: string[] = [];
    const second = await copy(store, 'v2', to, 'v2', { onBlob: (e) => events.push(`${e.status}:${e.descriptor.digest}`) });
    expect(second).toMatchObject({ blobsSkipped: 1, blobsCopied: 2 });
    expect(events).toContain(`skipped:${config.digest}`);
    expect(other.config.digest).toBe(config.digest);
  });
});
