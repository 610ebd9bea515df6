/**
 * `rulesctl artifact manifest` / `artifact config` (falcoctl.md §6): the raw bytes plus `\n`, the
 * selected platform's for plugins; checked against skopeo.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { dockerRef, registryFlags, skopeo, skopeoInspectRaw } from '../helpers/skopeo.js';
import { runCli } from './_run.js';
import { VALID_RULES, cliHome } from '../integration/artifact/_helpers.js';

describe('artifact manifest / artifact config', () => {
  const { open } = getRegistries();

  async function pushPlugin(): Promise<{ env: Record<string, string | undefined>; ref: string; repo: string }> {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/show-plugin');
    const files: string[] = [];
    for (const arch of ['amd64', 'arm64']) {
      await mkdir(join(home, arch));
      files.push(join(home, arch, 'libdummy.so'));
      await writeFile(files[files.length - 1]!, `ELF ${arch}`);
    }
    const r = await runCli(['registry', 'push', `${open.host}/${repo}:0.1.0`, ...files, '--type', 'plugin', '--version=0.1.0',
      '--platform', 'linux/amd64', '--platform', 'linux/arm64', '-r', 'plugin_api_version:3.0.0', '--plain-http'], { env });
    expect(r.code).toBe(0);
    return { env, ref: `${open.host}/${repo}:0.1.0`, repo };
  }

  it('prints the raw manifest of a rules file and its config, each followed by a newline', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/show-rules');
    await writeFile(join(home, 'falco_rules.yaml'), VALID_RULES);
    expect((await runCli(['registry', 'push', `${open.host}/${repo}:1.0.0`, join(home, 'falco_rules.yaml'), '--type', 'rulesfile', '--version=1.0.0', '--plain-http'], { env })).code).toBe(0);
    const m = await runCli(['artifact', 'manifest', `${open.host}/${repo}:1.0.0`, '--plain-http'], { env });
    expect(m.code).toBe(0);
    expect(m.stdout).toBe(`${(await skopeoInspectRaw(open, repo, '1.0.0')).toString('utf8')}\n`);
    const c = await runCli(['artifact', 'config', `${open.host}/${repo}:1.0.0`, '--plain-http'], { env });
    expect(c.code).toBe(0);
    const raw = await skopeo(['inspect', '--config', '--raw', ...registryFlags(open, ''), dockerRef(open, repo, '1.0.0')]);
    expect(c.stdout).toBe(`${raw.stdout}\n`);
    expect(c.stdout).toContain('"requirements":[{"name":"engine_version_semver","version":"0.26.0"}]');
  });

  it('for a plugin, the manifest of the selected platform', async () => {
    const { env, ref, repo } = await pushPlugin();
    const index = JSON.parse((await skopeoInspectRaw(open, repo, '0.1.0')).toString('utf8')) as { manifests: { digest: string }[] };
    const arm = await runCli(['artifact', 'manifest', ref, '--platform', 'linux/arm64', '--plain-http'], { env });
    expect(arm.code).toBe(0);
    expect(arm.stdout).toBe(`${(await skopeoInspectRaw(open, repo, index.manifests[1]!.digest)).toString('utf8')}\n`);
    const amd = await runCli(['artifact', 'manifest', ref, '--platform', 'linux/amd64', '--plain-http'], { env });
    expect(amd.stdout).toBe(`${(await skopeoInspectRaw(open, repo, index.manifests[0]!.digest)).toString('utf8')}\n`);
    const cfg = await runCli(['artifact', 'config', ref, '--platform', 'linux/arm64', '--plain-http'], { env });
    expect(cfg.stdout).toBe('{"name":"' + repo.split('/').pop() + '","version":"0.1.0","requirements":[{"name":"plugin_api_version","version":"3.0.0"}]}\n');
  });

  it('--output json wraps the document with its digest', async () => {
    const { env, ref } = await pushPlugin();
    const m = await runCli(['artifact', 'manifest', ref, '--platform', 'linux/arm64', '--plain-http', '--output', 'json'], { env });
    expect(m.code).toBe(0);
    const doc = JSON.parse(m.stdout);
    expect(doc).toMatchObject({ reference: ref, digest: expect.stringMatching(/^sha256:/), mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    expect(doc.manifest.layers[0].mediaType).toBe('application/vnd.cncf.falco.plugin.layer.v1+tar.gz');
    const c = await runCli(['artifact', 'config', ref, '--platform', 'linux/arm64', '--plain-http', '-o', 'json'], { env });
    expect(JSON.parse(c.stdout).config).toMatchObject({ version: '0.1.0' });
  });

  it('an unknown platform or tag fails with what to do next', async () => {
    const { env, ref } = await pushPlugin();
    const p = await runCli(['artifact', 'manifest', ref, '--platform', 'linux/riscv64', '--plain-http'], { env });
    expect(p.code).toBe(1);
    expect(p.stderr).toContain('unable to find a manifest matching the given platform: linux/riscv64');
    expect(p.stderr).toContain('--platform');
    const bad = await runCli(['artifact', 'config', ref, '--platform', 'Linux-amd64', '--plain-http'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"Linux-amd64"');
    const missing = await runCli(['artifact', 'manifest', `${open.host}/${uniqueRepo('cli/none')}:nope`, '--plain-http'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^Error: .*nope/m);
  });
});
