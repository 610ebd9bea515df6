/**
 * `rulesctl artifact install` through the real CLI code path (`main()` in-process, as
 * bin/rulesctl.cjs calls it): flags and config precedence, --output json, and installs of full
 * references with the index unreachable (falcoctl#264).
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { createRegistryClient } from '../../src/oci/registry/client.js';
import { createTargetFactory } from '../../src/oci/targets.js';
import { getRegistries, pickPort, uniqueRepo } from '../helpers/registries.js';
import { tmpDir } from '../helpers/tmp.js';
import { destinations, publish, writeIndex } from '../integration/install/_publish.js';

const reg = getRegistries().open;
const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 10, maxMs: 100 } });
afterAll(() => client.close());
const targets = createTargetFactory({ client });

function sink() {
  let text = '';
  const stream = new Writable({ write(c, _e, cb) { text += String(c); cb(); } });
  return { stream, text: () => text };
}

async function run(argv: string[], env: Record<string, string> = {}) {
  const out = sink();
  const err = sink();
  const home = tmpDir('cli-home');
  const code = await main(argv, { env: { HOME: home, ...env }, stdout: out.stream, stderr: err.stream, cwd: home, signal: new AbortController().signal });
  return { code, stdout: out.text(), stderr: err.text() };
}

async function published(name: string, version = '1.0.0') {
  const repository = uniqueRepo('cli-install');
  await publish(await targets({ registry: reg.host, repository }), { type: 'rulesfile', name, version, tags: [version, 'latest'] });
  return { repository, ref: `${reg.host}/${repository}:${version}` };
}

const dirFlags = (d: Awaited<ReturnType<typeof destinations>>) =>
  ['--rulesfiles-dir', d.rulesfilesDir, '--plugins-dir', d.pluginsDir, '--assets-dir', d.assetsDir, '--state-dir', d.stateDir];

describe('rulesctl artifact install', () => {
  it('installs full references with the configured index unreachable; names fail on the index', async () => {
    const { ref } = await published('offline-rules');
    const closed = await pickPort();
    const config = join(tmpDir('cli-config'), 'falcoctl.yaml');
    await writeFile(config, `indexes:\n  - name: down\n    url: http://127.0.0.1:${closed}/index.yaml\n`);
    const d = await destinations();
    const ok = await run(['artifact', 'install', ref, '--config', config, '--plain-http', ...dirFlags(d), '-o', 'json']);
    expect(ok.stderr).not.toContain('Error');
    expect(ok.code).toBe(0);
    const result = JSON.parse(ok.stdout);
    expect(result.installed.map((a: { name: string }) => a.name)).toEqual(['offline-rules']);
    expect(result.installed[0].files).toEqual([join(d.rulesfilesDir, 'offline_rules.yaml')]);
    const byName = await run(['artifact', 'install', 'offline-rules:1.0.0', '--config', config, '--plain-http', ...dirFlags(await destinations())]);
    expect(byName.code).toBe(1);
    expect(byName.stderr).toContain(`unable to fetch index "down" with URL "http://127.0.0.1:${closed}/index.yaml"`);
  });

  it('takes refs and directories from falcoctl.yaml, env over file, flags over env', async () => {
    const { ref } = await published('configured-rules');
    const d = await destinations();
    const other = await destinations();
    const config = join(tmpDir('cli-config'), 'falcoctl.yaml');
    await writeFile(config, `artifact:\n  install:\n    refs: [${ref}]\n    rulesfilesDir: /nonexistent/rules\n    stateDir: ${d.stateDir}\n`);
    const env = { FALCOCTL_ARTIFACT_INSTALL_RULESFILESDIR: other.rulesfilesDir };
    const viaEnv = await run(['artifact', 'install', '--config', config, '--plain-http'], env);
    expect(viaEnv.code).toBe(0);
    expect(await readdir(other.rulesfilesDir)).toEqual(['configured_rules.yaml']);
    const viaFlag = await run(['artifact', 'install', '--config', config, '--plain-http', '--rulesfiles-dir', d.rulesfilesDir], env);
    expect(viaFlag.code).toBe(0);
    expect(await readdir(d.rulesfilesDir)).toEqual(['configured_rules.yaml']);
  });

  it('accepts --resolve-deps=false and keeps a ref that follows a bare --resolve-deps', async () => {
    const { ref } = await published('flag-rules');
    const d = await destinations();
    const off = await run(['artifact', 'install', '--resolve-deps=false', ref, '--plain-http', ...dirFlags(d), '--config', '/nonexistent/falcoctl.yaml']);
    expect(off.code).toBe(0);
    const bare = await run(['artifact', 'install', '--resolve-deps', ref, '--plain-http', ...dirFlags(d), '--config', '/nonexistent/falcoctl.yaml']);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain('Nothing changed: the artifact is already installed.');
  });

  it('writes a lock and installs from it with --frozen; --frozen without --lock is a usage error', async () => {
    const { ref, repository } = await published('locked-rules');
    const lock = join(tmpDir('cli-lock'), 'rulesctl.lock.json');
    const d = await destinations();
    expect((await run(['artifact', 'install', ref, '--plain-http', ...dirFlags(d), '--lock', lock, '--config', '/nonexistent/x.yaml'])).code).toBe(0);
    const locked = JSON.parse(await readFile(lock, 'utf8'));
    expect(locked.entries[0]).toMatchObject({ name: 'locked-rules', ref, type: 'rulesfile', version: '1.0.0' });
    await publish(await targets({ registry: reg.host, repository }), { type: 'rulesfile', name: 'locked-rules', version: '1.0.0', content: '- list: moved\n  items: []\n' });
    const frozen = await run(['artifact', 'install', ref, '--plain-http', ...dirFlags(await destinations()), '--lock', lock, '--frozen', '-o', 'json', '--config', '/nonexistent/x.yaml']);
    expect(frozen.code).toBe(0);
    expect(JSON.parse(frozen.stdout).installed[0].digest).toBe(locked.entries[0].digest);
    const usage = await run(['artifact', 'install', ref, '--frozen', '--config', '/nonexistent/x.yaml']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--frozen needs --lock');
  });

  it('installs by short name through a file:// index from falcoctl.yaml', async () => {
    const { repository } = await published('indexed-rules');
    const url = await writeIndex(tmpDir('cli-index'), [{ name: 'indexed-rules', type: 'rulesfile', registry: reg.host, repository }]);
    const config = join(tmpDir('cli-config'), 'falcoctl.yaml');
    await writeFile(config, `indexes:\n  - name: local\n    url: ${url}\n`);
    const d = await destinations();
    const r = await run(['artifact', 'install', 'indexed-rules', '--config', config, '--plain-http', ...dirFlags(d)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Installed indexed-rules 1\.0\.0 \(rulesfile\) from 127\.0\.0\.1:\d+\/.*:latest@sha256:/);
  });

  it('npm run demo (scripts/demo.js, the README main job) installs offline from the OCI layout and exits 0', async () => {
    const r = await execa(process.execPath, ['scripts/demo.js'], { cwd: join(import.meta.dirname, '..', '..'), reject: false, env: { PATH: process.env.PATH ?? '' }, extendEnv: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    // Names and repositories from the built-in index; highest compatible plugins, not the minimums.
    expect(r.stdout).toMatch(/Installed cloudtrail 0\.10\.2 \(plugin\) from ghcr\.io\/falcosecurity\/plugins\/plugin\/cloudtrail:0\.10\.2@sha256:/);
    expect(r.stdout).toMatch(/Installed json 0\.7\.3 \(plugin\) from ghcr\.io\/falcosecurity\/plugins\/plugin\/json/);
    expect(r.stdout).toMatch(/Installed cloudtrail-rules 1\.0\.0 \(rulesfile\) from ghcr\.io\/falcosecurity\/plugins\/ruleset\/cloudtrail/);
    expect(r.stdout).toContain('Nothing changed: all 3 artifacts are already installed.');
    expect(r.stdout).toMatch(/demo: OK in \d+ ms, offline/);
  });

  it('bin/rulesctl.cjs installs and prints JSON on stdout, logs on stderr', async () => {
    const { ref } = await published('spawned-rules');
    const d = await destinations();
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'rulesctl.cjs');
    const r = await execa(process.execPath, [bin, 'artifact', 'install', ref, '--plain-http', ...dirFlags(d), '-o', 'json', '--config', '/nonexistent/x.yaml'],
      { reject: false, env: { PATH: process.env.PATH ?? '', HOME: d.root }, extendEnv: false });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).installed[0]).toMatchObject({ name: 'spawned-rules', version: '1.0.0', type: 'rulesfile', files: [join(d.rulesfilesDir, 'spawned_rules.yaml')] });
    expect(r.stderr).toContain('Artifact successfully installed');
  });
});
