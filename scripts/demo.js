#!/usr/bin/env node
/**
 * `npm run demo`: the README's main job, fully offline and without root.
 *
 * 1. Builds, with rulesctl's own pack/push library, an OCI image layout standing in for ghcr.io:
 *    `cloudtrail-rules` (falcosecurity/plugins/ruleset/cloudtrail) depending on the `cloudtrail`
 *    and `json` plugins, each published in several versions, at the repositories the BUILT-IN
 *    index (index/index.yaml, falcosecurity's) names.
 * 2. Writes a falcoctl.yaml with no `indexes` (so the built-in index is used, offline) whose
 *    `registry.mirrors` maps ghcr.io to `oci:<layout root>`: the registry install code path reads
 *    from the layout.
 * 3. Runs the real executable, `rulesctl artifact install cloudtrail-rules …`, twice: the first
 *    run installs the rules and the highest compatible plugin versions, the second changes nothing.
 *    The built-in index carries falcosecurity's keyless signature policy, which artifacts built
 *    here cannot satisfy, so the demo passes --no-verify (and says so).
 * 4. Checks the installed files byte for byte and exits 0.
 *
 * `--keep` keeps the temporary directory. Needs `dist/` (built here when missing).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const REGISTRY = 'ghcr.io';
const CREATED = '2025-01-01T00:00:00Z';
const started = Date.now();

if (!existsSync(join(root, 'dist', 'cli-bundle', 'main.cjs'))) {
  process.stderr.write('demo: building dist/ first (tsc, then the CLI bundle)\n');
  for (const args of [[join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], [join(root, 'scripts', 'bundle.mjs')]]) {
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status !== 0) process.exit(1);
  }
}
const dist = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
const { buildArtifact } = await dist('artifact/build.js');
const { pushArtifact } = await dist('artifact/push.js');
const { openLayout } = await dist('oci/layout/store.js');
const { goArch } = await dist('oci/platform.js');

const hostPlatform = `${process.platform}/${goArch(process.arch)}`;
const tmp = await mkdtemp(join(tmpdir(), 'rulesctl-demo-'));
const layoutRoot = join(tmp, 'layout');
const work = join(tmp, 'work');

const RULES = `- required_engine_version: 0.26.0
- required_plugin_versions:
    - name: cloudtrail
      version: 0.10.0
    - name: json
      version: 0.7.0
- rule: Console Login Without MFA (demo)
  desc: A console login without multi-factor authentication (a rule from the rulesctl demo)
  condition: ct.name="ConsoleLogin" and json.value[/additionalEventData/MFAUsed]="No"
  output: console login without MFA (user=%ct.user)
  priority: WARNING
  source: aws_cloudtrail
`;

/** Builds one artifact from `files` and pushes it onto the layout of `repository` with `tags`. */
async function publish(repository, tags, input) {
  const layout = await openLayout(join(layoutRoot, repository), { create: true });
  const built = await buildArtifact({ ...input, created: CREATED, workDir: join(work, `${input.name}-${input.version}`) });
  try {
    return await pushArtifact(layout, built, { tags });
  } finally {
    await built.dispose();
  }
}

/** A plugin version for linux/amd64, linux/arm64 and this host: `lib<name>.so` per platform. */
async function publishPlugin(name, version, tags) {
  const platforms = [...new Set(['linux/amd64', 'linux/arm64', hostPlatform])];
  const files = [];
  for (const platform of platforms) {
    const dir = join(work, 'so', name, version, platform.replace('/', '-'));
    await mkdir(dir, { recursive: true });
    const arch = platform.endsWith('arm64') ? 'arm64' : 'amd64';
    await copyFile(join(root, 'fixtures', 'plugins', `libdummy-${arch}.so`), join(dir, `lib${name}.so`));
    files.push({ path: join(dir, `lib${name}.so`), platform });
  }
  await publish(`falcosecurity/plugins/plugin/${name}`, tags, {
    type: 'plugin', name, version, files,
    requirements: [{ name: 'plugin_api_version', version: '3.0.0' }],
  });
}

async function buildLayout() {
  await mkdir(work, { recursive: true });
  const rulesFile = join(work, 'aws_cloudtrail_rules.yaml');
  await writeFile(rulesFile, RULES);
  await publish('falcosecurity/plugins/ruleset/cloudtrail', ['1.0.0', '1', '1.0', 'latest'], {
    type: 'rulesfile', name: 'cloudtrail-rules', version: '1.0.0', files: [{ path: rulesFile }],
    dependencies: [{ name: 'cloudtrail', version: '0.10.0' }, { name: 'json', version: '0.7.0' }],
    requirements: [{ name: 'engine_version_semver', version: '0.26.0' }],
  });
  // Several versions: install picks the highest compatible one (0.10.2, 0.7.3), never 1.0.0
  // (falcoctl would install the minimums, 0.10.0 and 0.7.0: falcoctl#780).
  await publishPlugin('cloudtrail', '0.10.0', ['0.10.0']);
  await publishPlugin('cloudtrail', '0.10.2', ['0.10.2', 'latest']);
  for (const v of ['0.7.0', '0.7.3']) await publishPlugin('json', v, [v]);
  await publishPlugin('json', '1.0.0', ['1.0.0', 'latest']);
  return rulesFile;
}

async function writeConfig() {
  // No `indexes`: the built-in index (falcosecurity's entries) is used, without network.
  const config = join(tmp, 'falcoctl.yaml');
  await writeFile(config, `registry:
  mirrors:
    ${REGISTRY}:
      - oci:${layoutRoot}
`);
  return config;
}

const sha256 = async (p) => createHash('sha256').update(await readFile(p)).digest('hex');

/** Runs the real executable (bin/rulesctl.cjs) in a clean environment; its stdout and stderr on our stdout. */
async function run(argv) {
  process.stdout.write(`\n$ rulesctl ${argv.join(' ')}\n`);
  const r = spawnSync(process.execPath, [join(root, 'bin', 'rulesctl.cjs'), ...argv], {
    env: { HOME: tmp, PATH: process.env.PATH ?? '' }, cwd: tmp, stdio: ['ignore', 1, 1], timeout: 60_000, // its logs on our stdout too, as before
  });
  if (r.status !== 0) throw new Error(`rulesctl exited with ${r.status ?? r.signal}`);
}

async function check(dirs, rulesFile) {
  const want = [
    [join(dirs.rules, 'aws_cloudtrail_rules.yaml'), await sha256(rulesFile)],
    [join(dirs.plugins, 'libcloudtrail.so'), await sha256(join(root, 'fixtures', 'plugins', `libdummy-${hostPlatform.endsWith('arm64') ? 'arm64' : 'amd64'}.so`))],
    [join(dirs.plugins, 'libjson.so'), undefined],
  ];
  for (const [path, digest] of want) {
    if (!(await stat(path)).isFile()) throw new Error(`${path} is not a file`);
    if (digest !== undefined && (await sha256(path)) !== digest) throw new Error(`${path} differs from what was published`);
  }
  const lock = JSON.parse(await readFile(dirs.lock, 'utf8'));
  const versions = Object.fromEntries(lock.entries.map((e) => [e.name, e.version]));
  if (versions.cloudtrail !== '0.10.2' || versions.json !== '0.7.3' || versions['cloudtrail-rules'] !== '1.0.0') {
    throw new Error(`unexpected versions in the lock: ${JSON.stringify(versions)}`);
  }
  const states = await readdir(join(dirs.state, '.falcoctl', 'artifact-state'));
  if (states.length !== 3) throw new Error(`expected 3 state files, found ${states.length}`);
}

try {
  const rulesFile = await buildLayout();
  const config = await writeConfig();
  const dirs = { rules: join(tmp, 'rules'), plugins: join(tmp, 'plugins'), state: join(tmp, 'state'), lock: join(tmp, 'rulesctl.lock.json') };
  for (const d of [dirs.rules, dirs.plugins, dirs.state]) await mkdir(d, { recursive: true });
  process.stdout.write('demo: artifacts built here carry no falcosecurity signature, so the install runs with --no-verify\n');
  const argv = ['artifact', 'install', 'cloudtrail-rules', '--no-verify', '--config', config, '--log-format', 'text',
    '--rulesfiles-dir', dirs.rules, '--plugins-dir', dirs.plugins, '--state-dir', dirs.state,
    '--engine-version', '0.43.0', '--lock', dirs.lock];
  await run(argv);
  await run(argv);
  await check(dirs, rulesFile);
  process.stdout.write(`\ndemo: OK in ${Date.now() - started} ms, offline; files under ${tmp}\n`);
} catch (err) {
  process.stderr.write(`demo: FAILED: ${err.stack ?? err}\n`);
  if (process.argv.includes('--keep')) process.stdout.write(`demo: files under ${tmp}\n`);
  process.exitCode = 1;
} finally {
  if (!process.argv.includes('--keep')) await rm(tmp, { recursive: true, force: true });
}
