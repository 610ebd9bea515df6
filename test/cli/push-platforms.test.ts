/**
 * `registry push --platform` checks as falcoctl makes them, before anything reaches the registry:
 * the `os/arch` format for every artifact type (pkg/options/artifact.go `Validate`) and, for a
 * plugin, one platform per file (pkg/oci/pusher/options.go `WithFilepathsAndPlatforms`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { registryFlags, skopeo } from '../helpers/skopeo.js';
import { VALID_RULES, cliHome } from '../integration/artifact/_helpers.js';
import { runCli } from './_run.js';

describe('registry push --platform checks', () => {
  const { open } = getRegistries();

  async function nothingPushed(repo: string): Promise<void> {
    expect((await open.accessLog()).filter((e) => e.path.includes(repo))).toEqual([]);
    expect((await skopeo(['list-tags', ...registryFlags(open, ''), `docker://${open.host}/${repo}`])).exitCode).not.toBe(0);
  }

  it('a plugin with more --platform values than files fails with falcoctl\'s message and pushes nothing', async () => {
    const { home, env } = cliHome();
    await mkdir(join(home, 'amd64'));
    await writeFile(join(home, 'amd64', 'libx.so'), 'ELF amd64');
    const repo = uniqueRepo('cli/push-platform-count');
    const r = await runCli(['registry', 'push', `${open.host}/${repo}:0.1.0`, join(home, 'amd64', 'libx.so'), '--type', 'plugin', '--version', '0.1.0',
      '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--plain-http'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"filepaths" length (1) must match "platforms" length (2): number of filepaths and platform should be the same');
    await nothingPushed(repo);
  });

  it('a badly written --platform fails for a rules file too, and pushes nothing', async () => {
    const { home, env } = cliHome();
    await writeFile(join(home, 'falco_rules.yaml'), VALID_RULES);
    const repo = uniqueRepo('cli/push-platform-format');
    const r = await runCli(['registry', 'push', `${open.host}/${repo}:0.1.0`, join(home, 'falco_rules.yaml'), '--type', 'rulesfile', '--version', '0.1.0',
      '--platform', 'Linux-AMD64', '--plain-http'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('platform "Linux-AMD64" seems to be in the wrong format: needs to be in OS/ARCH and to satisfy the following regexp ^[a-z]+/[a-z0-9_]+$');
    await nothingPushed(repo);
  });

  it('a well-formed --platform on a rules file is accepted and ignored, as in falcoctl', async () => {
    const { home, env } = cliHome();
    await writeFile(join(home, 'falco_rules.yaml'), VALID_RULES);
    const repo = uniqueRepo('cli/push-platform-ignored');
    const r = await runCli(['registry', 'push', `${open.host}/${repo}:0.1.0`, join(home, 'falco_rules.yaml'), '--type', 'rulesfile', '--version', '0.1.0',
      '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--plain-http'], { env });
    expect(r.code).toBe(0);
    const raw = await skopeo(['inspect', '--raw', ...registryFlags(open, ''), `docker://${open.host}/${repo}:0.1.0`]);
    expect(JSON.parse(raw.stdout).mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
  });
});
