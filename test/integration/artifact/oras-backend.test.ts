/**
 * `--backend oras` against the real registry: the same digests and files as the native path. These
 * tests need the `oras` executable (>= 1.2) on PATH; without it they are reported as skipped, and
 * only the argument building and error mapping (test/unit/oras-cli) run.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../cli/_run.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { skopeoListTags } from '../../helpers/skopeo.js';
import { tmpDir } from '../../helpers/tmp.js';
import { VALID_RULES, cliHome } from './_helpers.js';

const hasOras = (() => {
  try {
    return execaSync('oras', ['version'], { reject: false, stdin: 'ignore' }).exitCode === 0;
  } catch {
    return false;
  }
})();
if (!hasOras) console.warn('[oras-backend.test] skipped: no `oras` executable on PATH (install oras >= 1.2 to run these)');

describe('--backend oras', () => {
  const { open } = getRegistries();

  it.skipIf(!hasOras)('pushes the same digest as the native client, with the same tags', async () => {
    const { home, env } = cliHome();
    const file = join(home, 'falco_rules.yaml');
    await writeFile(file, VALID_RULES);
    const args = (repo: string, backend: string) => ['registry', 'push', `${open.host}/${repo}:x`, file, '--type', 'rulesfile', '--version=1.2.3', '--add-floating-tags', '--plain-http', '--backend', backend, '-o', 'json'];
    const nativeRepo = uniqueRepo('oras/native');
    const orasRepo = uniqueRepo('oras/oras');
    const n = await runCli(args(nativeRepo, 'native'), { env });
    const o = await runCli(args(orasRepo, 'oras'), { env });
    expect(o.stderr).not.toMatch(/^Error/m);
    expect(o.code).toBe(0);
    expect(JSON.parse(o.stdout).digest).toBe(JSON.parse(n.stdout).digest);
    expect((await skopeoListTags(open, orasRepo)).sort()).toEqual(['1', '1.2', '1.2.3', 'x']);
  });

  it.skipIf(!hasOras)('pulls a multi-platform plugin like the native client', async () => {
    const { home, env } = cliHome();
    const files = ['amd64', 'arm64'].map((a) => join(home, `libdummy-${a}.so`));
    await writeFile(files[0]!, 'ELF amd64');
    await writeFile(files[1]!, 'ELF arm64');
    const repo = uniqueRepo('oras/plugin');
    const push = await runCli(['registry', 'push', `${open.host}/${repo}:0.1.0`, ...files, '--type', 'plugin', '--version=0.1.0',
      '--platform', 'linux/amd64', '--platform', 'linux/arm64', '--plain-http', '--backend', 'oras'], { env });
    expect(push.code).toBe(0);
    const dest = tmpDir('oras-pull');
    const pull = await runCli(['registry', 'pull', `${open.host}/${repo}:0.1.0`, '-o', dest, '--platform', 'linux/arm64', '--plain-http', '--backend', 'oras', '--extract'], { env });
    expect(pull.code).toBe(0);
    expect(await readdir(dest)).toEqual(['libdummy-arm64.so']);
    expect(await readFile(join(dest, 'libdummy-arm64.so'), 'utf8')).toBe('ELF arm64');
  });

  it('without oras on PATH, --backend oras fails saying how to install it', async () => {
    const { home, env } = cliHome();
    env.PATH = '/nonexistent';
    const file = join(home, 'falco_rules.yaml');
    await writeFile(file, VALID_RULES);
    const r = await runCli(['registry', 'push', `${open.host}/${uniqueRepo('oras/missing')}:1`, file, '--type', 'rulesfile', '--version=1.0.0', '--plain-http', '--backend', 'oras'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: oras push');
    expect(r.stderr).toMatch(/install oras/);
  });
});
