/**
 * `rulesctl registry push` / `registry pull` end to end on the real registries (issue 4), checked
 * with skopeo and with bytes built independently of rulesctl.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hostPlatform, readPlatform } from '../../src/cli/options/registry.js';
import { createdFor, parsePushRequest, visibilityWarning } from '../../src/cli/commands/registry/push.js';
import { parsePullRequest } from '../../src/cli/commands/registry/pull.js';
import { ErrorCodes, RulesctlError } from '../../src/errors.js';
import { blobPath, getRegistries, uniqueRepo, type TestRegistry } from '../helpers/registries.js';
import { skopeo, skopeoInspectRaw, skopeoListTags, registryFlags, dockerRef } from '../helpers/skopeo.js';
import { tmpDir } from '../helpers/tmp.js';
import { runCli, spawnCli } from './_run.js';
import { VALID_RULES, cliHome, putManifest, sha256, singleFileTarGz, uploadBlob } from '../integration/artifact/_helpers.js';

const RULES_CONFIG_MT = 'application/vnd.cncf.falco.rulesfile.config.v1+json';
const RULES_LAYER_MT = 'application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz';

function plainFlags(reg: TestRegistry): string[] {
  return reg.plainHttp ? ['--plain-http'] : [];
}

async function writeRules(dir: string, name = 'falco_rules.yaml', text = VALID_RULES): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function pushJson(env: Record<string, string | undefined>, args: string[]): Promise<{ digest: string; tags: string[]; reference: string; layers?: { digest: string }[] }> {
  const r = await runCli(['registry', 'push', ...args, '--output', 'json'], { env });
  expect(r.stderr).not.toMatch(/^Error/m);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { digest: string; tags: string[]; reference: string };
}

describe('registry push', () => {
  const { open } = getRegistries();

  it('pushes a rules file with the Falco media types and the exact config JSON (skopeo)', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/push-rules');
    const file = await writeRules(home);
    const r = await runCli(['registry', 'push', `${open.host}/${repo}:1.2.3`, file, '--type', 'rulesfile', '--version=1.2.3', '--plain-http'], { env });
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`reference: ${open.host}/${repo}@sha256:[0-9a-f]{64}`));
    const manifest = JSON.parse((await skopeoInspectRaw(open, repo, '1.2.3')).toString('utf8'));
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.config.mediaType).toBe(RULES_CONFIG_MT);
    expect(manifest.config.annotations).toBeUndefined();
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0].mediaType).toBe(RULES_LAYER_MT);
    expect(manifest.layers[0].annotations).toEqual({ 'org.opencontainers.image.title': 'falco_rules.tar.gz' });
    expect(manifest.annotations).toEqual({ 'org.opencontainers.image.created': '1970-01-01T00:00:00Z' });
    const config = await skopeo(['inspect', '--config', '--raw', ...registryFlags(open, ''), dockerRef(open, repo, '1.2.3')]);
    expect(config.exitCode).toBe(0);
    expect(config.stdout).toBe(
      '{"name":"' + repo.split('/').pop() + '","version":"1.2.3",' +
      '"dependencies":[{"name":"k8saudit","version":"0.7.0","alternatives":[{"name":"k8saudit-eks","version":"0.4.0"}]},{"name":"json","version":"0.7.0"}],' +
      '"requirements":[{"name":"engine_version_semver","version":"0.26.0"}]}',
    );
  });

  it('takes dependencies and requirements from the flags when given, and --name', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/push-flags');
    const file = await writeRules(home);
    await pushJson(env, [`${open.host}/${repo}:0.1.0`, file, '--type', 'rulesfile', '--version=0.1.0', '--plain-http', '--name', 'my-rules',
      '-d', 'zeta:1.0.0', '--depends-on', 'cloudtrail:0.10.0|aws:0.1.0', '-r', 'engine_version_semver:0.40.0']);
    const config = await skopeo(['inspect', '--config', '--raw', ...registryFlags(open, ''), dockerRef(open, repo, '0.1.0')]);
    expect(config.stdout).toBe('{"name":"my-rules","version":"0.1.0","dependencies":[{"name":"cloudtrail","version":"0.10.0","alternatives":[{"name":"aws","version":"0.1.0"}]},{"name":"zeta","version":"1.0.0"}],"requirements":[{"name":"engine_version_semver","version":"0.40.0"}]}');
  });

  it('--add-floating-tags with ref tag :x gives x, 1.2.3, 1 and 1.2', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/push-tags');
    const file = await writeRules(home);
    const out = await pushJson(env, [`${open.host}/${repo}:x`, file, '--type', 'rulesfile', '--version=1.2.3', '--add-floating-tags', '--plain-http']);
    expect(out.tags).toEqual(['x', '1.2.3', '1', '1.2']);
    expect((await skopeoListTags(open, repo)).sort()).toEqual(['1', '1.2', '1.2.3', 'x']);
  });

  it('accepts "--version 1.2.3" as a separate argument, as falcoctl users write it', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/push-version-arg');
    const file = await writeRules(home);
    const r = await runCli(['registry', 'push', `${open.host}/${repo}:a`, file, '--type', 'rulesfile', '--version', '1.2.3', '--plain-http', '-t', 'b'], { env });
    expect(r.stdout, 'the program-level --version option (src/cli/main.ts) took the subcommand\'s --version').not.toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(r.code).toBe(0);
    expect((await skopeoListTags(open, repo)).sort()).toEqual(['a', 'b']);
  });

  it('pushing the same inputs twice gives the same digest; SOURCE_DATE_EPOCH sets created', async () => {
    const { home, env } = cliHome({ SOURCE_DATE_EPOCH: '1747054976' });
    const repo = uniqueRepo('cli/push-twice');
    const file = await writeRules(home);
    const args = [`${open.host}/${repo}:1.0.0`, file, '--type', 'rulesfile', '--version=1.0.0', '--plain-http'];
    const first = await pushJson(env, args);
    const second = await pushJson(env, args);
    expect(second.digest).toBe(first.digest);
    const manifest = JSON.parse((await skopeoInspectRaw(open, repo, first.digest)).toString('utf8'));
    expect(manifest.annotations['org.opencontainers.image.created']).toBe('2025-05-12T13:02:56Z');
  });

  it('--output json is one JSON object with reference, digest, tags, mediaType, config and layers', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/push-json');
    const file = await writeRules(home);
    const r = await runCli(['registry', 'push', `${open.host}/${repo}`, file, '--type', 'rulesfile', '--version=2.0.0', '--plain-http', '-o', 'json'], { env });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ digest: expect.stringMatching(/^sha256:/), tags: ['latest'], mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    expect(out.reference).toBe(`${open.host}/${repo}@${out.digest}`);
    expect(out.config.mediaType).toBe(RULES_CONFIG_MT);
    expect(out.layers[0].annotations['org.opencontainers.image.title']).toBe('falco_rules.tar.gz');
  });

  it('refuses an invalid rules file with its line number, and pushes nothing', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/push-invalid');
    const file = await writeRules(home, 'bad_rules.yaml', '- macro: ok\n  condition: evt.type=open\n- rule: broken\n  desc: no condition nor output\n  priority: WARNING\n');
    const r = await runCli(['registry', 'push', `${open.host}/${repo}:1.0.0`, file, '--type', 'rulesfile', '--version=1.0.0', '--plain-http'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:3:`);
    expect(r.stderr).toContain('--no-validate');
    const log = await open.accessLog();
    expect(log.filter((e) => e.path.includes(repo))).toEqual([]);
    const tags = await skopeo(['list-tags', ...registryFlags(open, ''), `docker://${open.host}/${repo}`]);
    expect(tags.exitCode).not.toBe(0);
  });

  it('a .tar.gz rules archive is pushed byte for byte (config from flags only), after its YAML files are validated', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/push-targz');
    const good = singleFileTarGz('k8s_audit_rules.yaml', Buffer.from(VALID_RULES));
    await writeFile(join(home, 'k8saudit-rules-0.7.0.tar.gz'), good);
    const out = await pushJson(env, [`${open.host}/${repo}:0.7.0`, join(home, 'k8saudit-rules-0.7.0.tar.gz'), '--type', 'rulesfile', '--version=0.7.0', '--plain-http']);
    expect(out.layers![0]!.digest).toBe(sha256(good));
    const config = await skopeo(['inspect', '--config', '--raw', ...registryFlags(open, ''), dockerRef(open, repo, '0.7.0')]);
    expect(config.stdout).toBe(`{"name":"${repo.split('/').pop()}","version":"0.7.0"}`);
    await writeFile(join(home, 'bad.tar.gz'), singleFileTarGz('bad.yaml', Buffer.from('- macro: m\n  condition: x\n- rule: r\n  priority: INFO\n')));
    const bad = await runCli(['registry', 'push', `${open.host}/${repo}:bad`, join(home, 'bad.tar.gz'), '--type', 'rulesfile', '--version=0.7.0', '--plain-http'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${join(home, 'bad.tar.gz')}/bad.yaml:3:`);
    expect(await skopeoListTags(open, repo)).toEqual(['0.7.0']);
  });

  it('--no-validate pushes the same file anyway', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/push-novalidate');
    const file = await writeRules(home, 'bad_rules.yaml', '- rule: broken\n  priority: WARNING\n');
    await pushJson(env, [`${open.host}/${repo}:1.0.0`, file, '--type', 'rulesfile', '--version=1.0.0', '--plain-http', '--no-validate']);
  });

  it('--sign --key signs the pushed root (cosign .sig tag and referrers fallback tag)', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/push-sign');
    const file = await writeRules(home);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(home, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const out = await pushJson(env, [`${open.host}/${repo}:1.0.0`, file, '--type', 'rulesfile', '--version=1.0.0', '--plain-http', '--sign', '--key', join(home, 'key.pem')]);
    const hex = out.digest.replace('sha256:', '');
    expect((await skopeoListTags(open, repo)).sort()).toEqual(['1.0.0', `sha256-${hex}`, `sha256-${hex}.sig`]);
    const noKey = await runCli(['registry', 'push', `${open.host}/${repo}:1.0.0`, file, '--type', 'rulesfile', '--version=1.0.0', '--plain-http', '--sign'], { env });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--sign needs --key FILE');
  });

  it('pushes to the basic registry with a falcoctl.yaml registry.auth.basic entry', async () => {
    const { basic } = getRegistries();
    const { home, env } = cliHome();
    await writeFile(join(home, 'falcoctl.yaml'), `registry:\n  auth:\n    basic:\n      - registry: ${basic.host}\n        user: ${basic.username}\n        password: ${basic.password}\n`);
    const repo = uniqueRepo('cli/push-basic');
    const file = await writeRules(home);
    await pushJson(env, [`${basic.host}/${repo}:1.0.0`, file, '--type', 'rulesfile', '--version=1.0.0', ...plainFlags(basic)]);
    expect(await skopeoListTags(basic, repo)).toEqual(['1.0.0']);
  });

  it('pushes to the token registry with FALCOCTL_REGISTRY_AUTH_BASIC', async () => {
    const { token } = getRegistries();
    const { home, env } = cliHome();
    env.FALCOCTL_REGISTRY_AUTH_BASIC = `${token.host},${token.username},${token.password}`;
    const repo = uniqueRepo('cli/push-token');
    const file = await writeRules(home);
    await pushJson(env, [`${token.host}/${repo}:1.0.0`, file, '--type', 'rulesfile', '--version=1.0.0', ...plainFlags(token)]);
    expect(await skopeoListTags(token, repo)).toEqual(['1.0.0']);
  });

  it('fails on the basic registry without credentials, saying what to do', async () => {
    const { basic } = getRegistries();
    const { home, env } = cliHome();
    const file = await writeRules(home);
    const r = await runCli(['registry', 'push', `${basic.host}/${uniqueRepo('cli/push-noauth')}:1.0.0`, file, '--type', 'rulesfile', '--version=1.0.0', ...plainFlags(basic)], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: /);
  });
});

describe('registry pull', () => {
  const { open } = getRegistries();

  /** An artifact as falcoctl would push it, built and uploaded without rulesctl. */
  async function pushByHand(repo: string): Promise<{ tarball: Buffer; content: Buffer }> {
    const content = Buffer.from('- list: shells\n  items: [bash, sh]\n');
    const tarball = singleFileTarGz('my_rules.yaml', content);
    const config = Buffer.from('{"name":"my_rules","version":"0.1.0","requirements":[{"name":"engine_version_semver","version":"0.26.0"}]}');
    const configDigest = await uploadBlob(open, repo, config);
    const layerDigest = await uploadBlob(open, repo, tarball);
    const manifest = Buffer.from(
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' +
      `"config":{"mediaType":"${RULES_CONFIG_MT}","digest":"${configDigest}","size":${config.length}},` +
      `"layers":[{"mediaType":"${RULES_LAYER_MT}","digest":"${layerDigest}","size":${tarball.length},"annotations":{"org.opencontainers.image.title":"my_rules.yaml.tar.gz"}}],` +
      '"annotations":{"org.opencontainers.image.created":"2025-05-12T13:02:56Z"}}',
    );
    await putManifest(open, repo, '0.1.0', manifest, 'application/vnd.oci.image.manifest.v1+json');
    return { tarball, content };
  }

  it('saves the tarball of an artifact built byte by byte from the spec, and --extract its files', async () => {
    const repo = uniqueRepo('cli/pull-byhand');
    const { tarball, content } = await pushByHand(repo);
    const { env } = cliHome();
    const dest = tmpDir('pull-dest');
    const r = await runCli(['registry', 'pull', `${open.host}/${repo}:0.1.0`, '--dest-dir', dest, '--plain-http'], { env });
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.code).toBe(0);
    expect(await readdir(dest)).toEqual(['my_rules.yaml.tar.gz']);
    expect((await readFile(join(dest, 'my_rules.yaml.tar.gz'))).equals(tarball)).toBe(true);
    const extracted = tmpDir('pull-extract');
    const x = await runCli(['registry', 'pull', `${open.host}/${repo}:0.1.0`, '-o', extracted, '--plain-http', '--extract', '--output', 'json'], { env });
    expect(x.code).toBe(0);
    const json = JSON.parse(x.stdout);
    expect(json).toMatchObject({ type: 'rulesfile', config: { name: 'my_rules', version: '0.1.0' } });
    expect(await readdir(extracted)).toEqual(['my_rules.yaml']);
    expect((await readFile(join(extracted, 'my_rules.yaml'))).equals(content)).toBe(true);
  });

  it('defaults the destination to the working directory', async () => {
    const repo = uniqueRepo('cli/pull-cwd');
    const { tarball } = await pushByHand(repo);
    const { env } = cliHome();
    const cwd = tmpDir('pull-cwd');
    const r = await runCli(['registry', 'pull', `${open.host}/${repo}:0.1.0`, '--plain-http'], { env, cwd });
    expect(r.code).toBe(0);
    expect((await readFile(join(cwd, 'my_rules.yaml.tar.gz'))).equals(tarball)).toBe(true);
  });

  it('multi-platform plugin: the host platform by default, --platform linux/arm64 on request', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/plugin');
    const bins: Record<string, Buffer> = { amd64: Buffer.from('ELF amd64 build'), arm64: Buffer.from('ELF arm64 build, longer') };
    const files: string[] = [];
    for (const arch of ['amd64', 'arm64']) {
      await mkdir(join(home, arch));
      files.push(join(home, arch, 'libdummy.so'));
      await writeFile(files[files.length - 1]!, bins[arch]!);
    }
    const out = await pushJson(env, [`${open.host}/${repo}:0.1.0`, ...files, '--type', 'plugin', '--version=0.1.0',
      '--platform', 'linux/amd64', '--platform', 'linux/arm64', '-r', 'plugin_api_version:3.0.0', '--plain-http']);
    const index = JSON.parse((await skopeoInspectRaw(open, repo, '0.1.0')).toString('utf8'));
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(sha256(await skopeoInspectRaw(open, repo, '0.1.0'))).toBe(out.digest);
    expect(index.manifests.map((m: { platform: unknown }) => m.platform)).toEqual([{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux' }]);
    expect(index.manifests[0].artifactType).toBe('application/vnd.cncf.falco.plugin.config.v1+json');

    const host = hostPlatform();
    const byDefault = tmpDir('plugin-default');
    const d = await runCli(['registry', 'pull', `${open.host}/${repo}:0.1.0`, '-o', byDefault, '--plain-http', '--extract'], { env });
    if (host.os === 'linux' && (host.architecture === 'amd64' || host.architecture === 'arm64')) {
      expect(d.code).toBe(0);
      expect((await readFile(join(byDefault, 'libdummy.so'))).equals(bins[host.architecture]!)).toBe(true);
    } else {
      expect(d.code).toBe(1);
      expect(d.stderr).toContain('unable to find a manifest matching the given platform');
    }
    const arm = tmpDir('plugin-arm64');
    const a = await runCli(['registry', 'pull', `${open.host}/${repo}:0.1.0`, '-o', arm, '--plain-http', '--platform', 'linux/arm64'], { env });
    expect(a.code).toBe(0);
    expect(await readdir(arm)).toEqual(['libdummy.tar.gz']);
    expect(gunzipSync(await readFile(join(arm, 'libdummy.tar.gz'))).subarray(512, 512 + bins.arm64!.length).equals(bins.arm64!)).toBe(true);
    const none = await runCli(['registry', 'pull', `${open.host}/${repo}:0.1.0`, '-o', arm, '--plain-http', '--platform', 'linux/s390x'], { env });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('unable to find a manifest matching the given platform: linux/s390x');
    expect(none.stderr).toContain('linux/amd64, linux/arm64');
  });

  it('a tampered blob fails with a digest error and leaves the destination untouched', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/tampered');
    const file = await writeRules(home);
    const out = await pushJson(env, [`${open.host}/${repo}:1.0.0`, file, '--type', 'rulesfile', '--version=1.0.0', '--plain-http']);
    const layer = out.layers![0]!.digest;
    const path = blobPath(open, layer);
    const original = await readFile(path);
    const corrupt = Buffer.from(original);
    corrupt[corrupt.length - 5] = corrupt[corrupt.length - 5]! ^ 0xff;
    await writeFile(path, corrupt);
    try {
      for (const extra of [[], ['--extract']]) {
        const dest = tmpDir('tampered-dest');
        await writeFile(join(dest, 'keep.txt'), 'already here');
        const r = await runCli(['registry', 'pull', `${open.host}/${repo}:1.0.0`, '-o', dest, '--plain-http', ...extra], { env });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/digest/i);
        expect(await readdir(dest)).toEqual(['keep.txt']);
      }
    } finally {
      await writeFile(path, original);
    }
  });

  it('a missing destination directory is created (falcoctl: oras MkdirAll), and removed again when the pull fails', async () => {
    const { env, home } = cliHome();
    const dest = join(home, 'made', 'for-the-pull');
    const r = await runCli(['registry', 'pull', `${open.host}/${uniqueRepo('cli/nodest')}:1`, '-o', dest, '--plain-http'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('404 MANIFEST_UNKNOWN');
    expect(await readdir(home)).not.toContain('made');
  });

  it('a file where the destination directory should be is an error naming it', async () => {
    const { env, home } = cliHome();
    const dest = join(home, 'a-file');
    await writeFile(dest, 'x');
    const r = await runCli(['registry', 'pull', `${open.host}/${uniqueRepo('cli/nodest')}:1`, '-o', dest, '--plain-http'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`"${dest}"`);
  });
});

describe('the executable', () => {
  it.each([['registry', 'push'], ['registry', 'pull'], ['artifact', 'manifest'], ['artifact', 'config']])('%s %s --help shows examples', async (...cmd) => {
    const { env, home } = cliHome();
    const r = await spawnCli([...cmd, '--help'], { env, cwd: home });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain(`rulesctl ${cmd.join(' ')} `);
  });

  it('a usage error (missing --version) exits 2 with a hint', async () => {
    const { env, home } = cliHome();
    await writeFile(join(home, 'r.yaml'), VALID_RULES);
    const r = await spawnCli(['registry', 'push', 'localhost:5000/x:1', 'r.yaml', '--type', 'rulesfile'], { env, cwd: home });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '--version <version>' not specified");
    expect(r.stderr).toContain('--help');
  });

  it('a bad --version value is a usage error quoting it', async () => {
    const { env, home } = cliHome();
    const r = await spawnCli(['registry', 'push', 'localhost:5000/x:1', 'r.yaml', '--type', 'rulesfile', '--version=v1.2'], { env, cwd: home });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"v1.2"');
  });
});

describe('ghcr.io visibility warning (decision only)', () => {
  const denied = (status: number) => async () => {
    throw new RulesctlError(status === 401 ? ErrorCodes.UNAUTHORIZED : ErrorCodes.DENIED, 'no', { details: { status } });
  };

  it('warns on ghcr.io when the anonymous HEAD is refused (401 or 403), with the package-settings hint', async () => {
    for (const status of [401, 403]) {
      const w = await visibilityWarning({ registry: 'ghcr.io', repository: 'org/rules/my-rules' }, 'sha256:abc', denied(status));
      expect(w).toContain('is private');
      expect(w).toContain('https://github.com/org?tab=packages');
      expect(w).toContain('Package settings');
    }
  });

  it('stays quiet when the package is public, on other hosts, and when the probe fails otherwise', async () => {
    let called = 0;
    const ok = async () => { called++; };
    expect(await visibilityWarning({ registry: 'ghcr.io', repository: 'org/r' }, 'sha256:abc', ok)).toBeUndefined();
    expect(called).toBe(1);
    expect(await visibilityWarning({ registry: 'docker.io', repository: 'org/r' }, 'sha256:abc', denied(401))).toBeUndefined();
    expect(await visibilityWarning({ registry: 'ghcr.io', repository: 'org/r' }, 'sha256:abc', async () => { throw new RulesctlError(ErrorCodes.NETWORK, 'reset'); })).toBeUndefined();
  });
});

describe('push and pull request parsing (pure)', () => {
  it('defaults the name to the last repository component, pairs the i-th --platform with the i-th plugin file, dedupes tags', () => {
    const req = parsePushRequest('ghcr.io/a/b/my_rule:0.1.0', ['x.so', '/abs/y.so'], {
      type: 'plugin', version: '1.2.3', platform: ['linux/amd64', 'linux/arm64'], tag: ['1.2.3', 'edge'], addFloatingTags: true,
    }, '/work');
    expect(req.name).toBe('my_rule');
    expect(req.files).toEqual([{ path: '/work/x.so', platform: 'linux/amd64' }, { path: '/abs/y.so', platform: 'linux/arm64' }]);
    expect(req.tags).toEqual(['1.2.3', 'edge', '1', '1.2']);
    expect(req.validate).toBe(true);
    const rules = parsePushRequest('h/r', ['r.yaml'], { type: 'rulesfile', version: '1.0.0', platform: ['linux/amd64'], name: 'n', validate: false }, '/w');
    expect(rules.files).toEqual([{ path: '/w/r.yaml' }]);
    expect(rules).toMatchObject({ name: 'n', validate: false, tags: [] });
  });

  it('refuses a non-strict --version, --sign without --key, a bad --chunk-size', () => {
    expect(() => parsePushRequest('h/r', ['f'], { type: 'asset', version: '1.2' }, '/')).toThrow('invalid value "1.2" for --version');
    expect(() => parsePushRequest('h/r', ['f'], { type: 'asset', version: 'v1.2.3' }, '/')).toThrow('"v1.2.3"');
    expect(() => parsePushRequest('h/r', ['f'], { type: 'asset', version: '1.2.3', sign: true }, '/')).toThrow('--sign needs --key FILE');
    expect(() => parsePushRequest('h/r', ['f'], { type: 'asset', version: '1.2.3', chunkSize: '4MiB' }, '/')).toThrow('--chunk-size');
    expect(parsePushRequest('h/r', ['f'], { type: 'asset', version: '1.2.3', chunkSize: '4194304', plainHttp: true, backend: 'oras' }, '/').registry)
      .toEqual({ chunkSize: 4194304, plainHttp: true, backend: 'oras' });
  });

  it('created: SOURCE_DATE_EPOCH, else the epoch; a bad value is a usage error', () => {
    expect(createdFor({})).toBe('1970-01-01T00:00:00Z');
    expect(createdFor({ SOURCE_DATE_EPOCH: '1747054976' })).toBe('2025-05-12T13:02:56Z');
    expect(() => createdFor({ SOURCE_DATE_EPOCH: 'yesterday' })).toThrow('invalid SOURCE_DATE_EPOCH "yesterday"');
  });

  it('pull: destination relative to the working directory, platform from the first --platform, else the host in Go names', () => {
    const req = parsePullRequest('h/r:1', { destDir: 'out', platform: ['linux/arm64', 'linux/amd64'] }, '/w');
    expect(req).toMatchObject({ destDir: '/w/out', platform: { os: 'linux', architecture: 'arm64' }, extract: false });
    expect(parsePullRequest('h/r:1', {}, '/w')).toMatchObject({ destDir: '/w', platform: hostPlatform() });
    expect(hostPlatform('linux', 'x64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('darwin', 'arm64')).toEqual({ os: 'darwin', architecture: 'arm64' });
    expect(() => readPlatform(['linux-amd64'])).toThrow('platform "linux-amd64" seems to be in the wrong format');
  });
});
