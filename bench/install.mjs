#!/usr/bin/env node
/**
 * Install benchmark: `rulesctl artifact install` of a rules artifact with a plugin dependency
 * (resolved through a file:// index) from a local docker-registry, spawning bin/rulesctl.cjs as a
 * user would. Cold = empty destination and state dirs; warm = the same dirs again, nothing
 * changed. Each is compared with `node -e 0` measured in the same run (process start-up floor);
 * `rulesctl --version` shows how much of it is loading the CLI's modules; bench/lib/warm-floor.cjs
 * does only the I/O a warm install cannot avoid, on Node built-ins (what Node itself costs).
 *
 *   npx tsc -p . && node bench/install.mjs [runs]
 *
 * Needs `docker-registry` on PATH (scripts/test.sh installs it). Prints medians and ratios.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 15);
const dist = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
const { buildArtifact } = await dist('artifact/build.js');
const { pushArtifact } = await dist('artifact/push.js');
const { createRegistryClient } = await dist('oci/registry/client.js');
const { goArch } = await dist('oci/platform.js');

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

async function startRegistry(dir) {
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(config, JSON.stringify({ version: '0.1', log: { level: 'error' }, storage: { filesystem: { rootdirectory: join(dir, 'data') } }, http: { addr: `127.0.0.1:${port}` } }));
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false);
    if (ok) return { host: `127.0.0.1:${port}`, child };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error('docker-registry did not start');
}

async function publishAll(host, work) {
  const client = createRegistryClient({ plainHttp: true });
  const platform = `linux/${goArch(process.arch)}`;
  const push = async (repository, input, tags) => {
    const built = await buildArtifact({ ...input, created: '2025-01-01T00:00:00Z', workDir: join(work, input.name) });
    await pushArtifact(client.repository({ registry: host, repository }), built, { tags });
    await built.dispose();
  };
  await mkdir(join(work, 'src'), { recursive: true });
  await writeFile(join(work, 'src', 'bench_rules.yaml'), '- required_engine_version: 0.26.0\n- list: bench\n  items: [a, b]\n'.repeat(1));
  await writeFile(join(work, 'src', 'libbench.so'), Buffer.alloc(2 * 1024 * 1024, 7));
  await push('bench/rules', { type: 'rulesfile', name: 'bench-rules', version: '1.0.0', files: [{ path: join(work, 'src', 'bench_rules.yaml') }], dependencies: [{ name: 'bench-plugin', version: '0.1.0' }] }, ['1.0.0', 'latest']);
  await push('bench/plugin', { type: 'plugin', name: 'bench-plugin', version: '0.1.0', files: [{ path: join(work, 'src', 'libbench.so'), platform }] }, ['0.1.0', 'latest']);
  await client.close();
  const index = join(work, 'index.yaml');
  const entry = (name, type, repository) => `- name: ${name}\n  type: ${type}\n  registry: "${host}"\n  repository: ${repository}\n  description: ""\n  home: ""\n  keywords: []\n  license: ""\n  maintainers: []\n  sources: []\n`;
  await writeFile(index, entry('bench-rules', 'rulesfile', 'bench/rules') + entry('bench-plugin', 'plugin', 'bench/plugin'));
  const config = join(work, 'falcoctl.yaml');
  await writeFile(config, `indexes:\n  - name: bench\n    url: ${pathToFileURL(index).href}\n`);
  return config;
}

function time(cmd, args, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return { ms, stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const work = await mkdtemp(join(tmpdir(), 'rulesctl-bench-install-'));
const reg = await startRegistry(work);
try {
  const config = await publishAll(reg.host, join(work, 'pub'));
  const env = { PATH: process.env.PATH, HOME: work };
  const bin = join(root, 'bin', 'rulesctl.cjs');
  const floor = [];
  const startup = [];
  const cold = [];
  const warm = [];
  const floorWarm = [];
  for (let i = 0; i < runs; i++) {
    floor.push(time(process.execPath, ['-e', '0'], env).ms);
    startup.push(time(process.execPath, [bin, '--version'], env).ms);
    const d = join(work, `run-${i}`);
    for (const s of ['rules', 'plugins', 'state']) await mkdir(join(d, s), { recursive: true });
    const argv = [bin, 'artifact', 'install', 'bench-rules', '--config', config, '--plain-http', '--log-level', 'warn',
      '--rulesfiles-dir', join(d, 'rules'), '--plugins-dir', join(d, 'plugins'), '--state-dir', join(d, 'state')];
    const c = time(process.execPath, argv, env);
    if (!c.stdout.includes('Installed bench-plugin')) throw new Error(`cold run did not install: ${c.stdout}`);
    cold.push(c.ms);
    const w = time(process.execPath, argv, env);
    if (!w.stdout.includes('Nothing changed')) throw new Error(`warm run changed something: ${w.stdout}`);
    warm.push(w.ms);
    const fw = time(process.execPath, [join(root, 'bench', 'lib', 'warm-floor.cjs'), reg.host, join(d, 'rules', 'bench_rules.yaml'), join(d, 'plugins', 'libbench.so')], env);
    if (!fw.stdout.startsWith('sha256:')) throw new Error(`warm floor failed: ${fw.stdout}`);
    floorWarm.push(fw.ms);
  }
  // The issue-8 target: 2x node -e 0 plus one HEAD per artifact (2 here), a HEAD timed as a
  // keep-alive round trip from this process (what the registry and loopback cost, nothing else).
  const heads = [];
  const rulesManifest = `http://${reg.host}/v2/bench/rules/manifests/latest`;
  const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
  await fetch(rulesManifest, { method: 'HEAD', headers: accept });
  for (let i = 0; i < 20; i++) {
    const t0 = process.hrtime.bigint();
    const r = await fetch(rulesManifest, { method: 'HEAD', headers: accept });
    heads.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (!r.ok) throw new Error(`HEAD ${rulesManifest}: ${r.status}`);
  }
  const f = median(floor);
  const row = (name, xs) => `${name.padEnd(31)} median ${median(xs).toFixed(1).padStart(7)} ms  min ${Math.min(...xs).toFixed(1).padStart(7)} ms  ${(median(xs) / f).toFixed(2)}x node -e 0`;
  process.stdout.write(`rulesctl install bench (${runs} runs, node ${process.version}, rules + 2 MiB plugin dependency, local docker-registry)\n`);
  process.stdout.write(`${row('node -e 0', floor)}\n${row('rulesctl --version (start-up)', startup)}\n${row('install cold', cold)}\n${row('install warm (nothing new)', warm)}\n${row('warm floor (node built-ins)', floorWarm)}\n`);
  const budget = 2 * f + 2 * median(heads);
  process.stdout.write(`target for warm: 2 x node -e 0 + 2 x HEAD (${median(heads).toFixed(2)} ms each) = ${budget.toFixed(1)} ms; warm is ${(median(warm) / budget).toFixed(2)}x that\n`);
} finally {
  reg.child.kill();
  await rm(work, { recursive: true, force: true });
}
