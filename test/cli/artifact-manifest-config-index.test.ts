/**
 * `artifact manifest` / `artifact config` take index names (`falco-rules:5`) as falcoctl does
 * (cmd/artifact/{manifest,config}: IndexCache.ResolveReference), resolved like `artifact install`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { dockerRef, registryFlags, skopeo, skopeoInspectRaw } from '../helpers/skopeo.js';
import { writeIndex } from '../integration/install/_publish.js';
import { VALID_RULES, cliHome } from '../integration/artifact/_helpers.js';
import { runCli } from './_run.js';

describe('artifact manifest / config with an index name', () => {
  const { open } = getRegistries();

  async function published(): Promise<{ env: Record<string, string | undefined>; repo: string; name: string }> {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/show-by-name');
    const name = repo.split('/').pop()!;
    await writeFile(join(home, 'falco_rules.yaml'), VALID_RULES);
    for (const v of ['1.0.0', '1.1.0']) {
      const r = await runCli(['registry', 'push', `${open.host}/${repo}:${v}`, join(home, 'falco_rules.yaml'), '--type', 'rulesfile', '--version', v, '--plain-http', '-t', 'latest'], { env });
      expect(r.code).toBe(0);
    }
    const url = await writeIndex(home, [{ name, type: 'rulesfile', registry: open.host, repository: repo }]);
    await writeFile(join(home, 'falcoctl.yaml'), `indexes:\n  - name: local\n    url: ${url}\n`);
    return { env, repo, name };
  }

  it('prints the manifest and the config of name:tag, and of a bare name (latest)', async () => {
    const { env, repo, name } = await published();
    const m = await runCli(['artifact', 'manifest', `${name}:1.0.0`, '--plain-http'], { env });
    expect(m.stderr).not.toContain('Error');
    expect(m.code).toBe(0);
    expect(m.stdout).toBe(`${(await skopeoInspectRaw(open, repo, '1.0.0')).toString('utf8')}\n`);
    const c = await runCli(['artifact', 'config', name, '--plain-http'], { env });
    expect(c.code).toBe(0);
    const raw = await skopeo(['inspect', '--config', '--raw', ...registryFlags(open, ''), dockerRef(open, repo, 'latest')]);
    expect(c.stdout).toBe(`${raw.stdout}\n`);
    expect(JSON.parse(c.stdout)).toMatchObject({ name, version: '1.1.0' });
    const json = await runCli(['artifact', 'manifest', `${name}:1.0.0`, '--plain-http', '-o', 'json'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ reference: `${open.host}/${repo}:1.0.0` });
  });

  it('a name no index has fails with falcoctl\'s message', async () => {
    const { env } = await published();
    const r = await runCli(['artifact', 'config', 'no-such-rules:1.0.0', '--plain-http'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot find no-such-rules:1.0.0 among the configured indexes');
  });
});
