// Benchmark: the idle cost of `rulesctl artifact follow` with many references (issue 6).
//
//   npx tsc -p . && node bench/follow-idle.mjs [--refs 500] [--every 10s] [--ticks 3] [--json FILE]
//
// A private docker-registry holds `--refs` small rules artifacts; a counting HTTP proxy in front of
// it records every request (method, path class, bytes on the wire). The state dir is seeded with
// the current digests (as the init container leaves it), so every check finds the digest unchanged.
// The built CLI follows all refs (`--startup-behavior jitter`, so checks spread over the interval);
// after one warm-up interval, requests, CPU time (utime+stime of the follower, /proc/<pid>/stat)
// and RSS (VmRSS / VmHWM) are measured over `--ticks` intervals. Everything here is measured.
// BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' profiles the follower.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanup, onCleanup } from './lib/cleanup.mjs';
import { machineInfo } from './lib/machine.mjs';
import { startRegistry } from './lib/registry.mjs';
import { parseArgs, table } from './lib/stats.mjs';
import { classify, startCountingProxy } from './fleet.proxy.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const BIN = join(ROOT, 'bin', 'rulesctl.cjs');
const opts = parseArgs(process.argv.slice(2), { refs: '500', every: '10s', ticks: '3', json: '' });
const N = Number(opts.refs);
const TICKS = Number(opts.ticks);
if (!existsSync(join(ROOT, 'dist', 'follow', 'update.js'))) {
  console.error('dist/ is missing: build first with `npx tsc -p .`');
  process.exit(2);
}
const { parseGoDuration } = await import('../dist/config/duration.js');
const { buildArtifact } = await import('../dist/artifact/build.js');
const { pushArtifact } = await import('../dist/artifact/push.js');
const { createRegistryClient } = await import('../dist/oci/registry/client.js');
const { writeState } = await import('../dist/install/state.js');
const EVERY_MS = parseGoDuration(opts.every);
const CLK_TCK = 100;

function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(parts[11]) + Number(parts[12]); // utime + stime (fields 14, 15)
}
function memKiB(pid, key) {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const work = await mkdtemp(join(tmpdir(), 'rulesctl-bench-follow-'));
onCleanup(() => rm(work, { recursive: true, force: true }));
const registry = await startRegistry(join(work, 'registry'));
onCleanup(() => registry.stop());
const proxy = await startCountingProxy(registry.url);
onCleanup(() => proxy.close());
const falco = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' })
  .end('{"engine_version":"63","engine_version_semver":"0.63.0","falco_version":"0.42.0","plugin_api_version":"3.10.0"}'));
await new Promise((r) => falco.listen(0, '127.0.0.1', r));
onCleanup(() => new Promise((r) => falco.close(r)));

// N artifacts (one small rules file each), pushed directly; state seeded with their digests.
const client = createRegistryClient({ plainHttp: true });
const dirs = Object.fromEntries(['rules', 'plugins', 'state', 'tmp', 'home'].map((d) => [d, join(work, d)]));
for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
const file = join(work, 'falco_rules.yaml');
const refs = [];
process.stderr.write(`pushing ${N} artifacts...\n`);
for (let i = 0; i < N; i++) {
  await writeFile(file, `- rule: r${i}\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: INFO\n`);
  const built = await buildArtifact({ type: 'rulesfile', files: [{ path: file }], name: `r${i}`, version: '1.0.0', created: '2026-01-01T00:00:00Z' });
  const res = await pushArtifact(client.repository({ registry: registry.host, repository: `bench/r${i}` }), built, { tags: ['1'] });
  await built.dispose();
  const ref = `${proxy.host}/bench/r${i}:1`;
  await writeState(dirs.state, ref, res.rootDigest);
  refs.push(ref);
}
await client.close();
const config = join(work, 'falcoctl.yaml');
await writeFile(config, `artifact:\n  follow:\n    refs:\n${refs.map((r) => `      - ${r}\n`).join('')}`);

const child = spawn('node', [...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []), BIN, '--config', config, '--log-format', 'json', 'artifact', 'follow', '--every', opts.every,
  '--startup-behavior', 'jitter', '--plain-http', '--falco-versions', `http://127.0.0.1:${falco.address().port}/versions`,
  '--rulesfiles-dir', dirs.rules, '--plugins-dir', dirs.plugins, '--state-dir', dirs.state, '--tmp-dir', dirs.tmp, '--allowed-types', 'rulesfile'],
{ env: { ...process.env, HOME: dirs.home }, stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
child.stderr.on('data', (d) => { stderr += d; if (stderr.length > 1e6) stderr = stderr.slice(-1e5); });
onCleanup(() => { child.kill('SIGKILL'); });

process.stderr.write(`following ${N} refs every ${opts.every}: warm-up interval...\n`);
await sleep(EVERY_MS + 1000);
proxy.stats.reset();
const cpu0 = cpuTicks(child.pid);
const t0 = Date.now();
let rssMax = 0;
const rssFirst = memKiB(child.pid, 'VmRSS');
const until = t0 + TICKS * EVERY_MS;
while (Date.now() < until) {
  rssMax = Math.max(rssMax, memKiB(child.pid, 'VmRSS'));
  await sleep(200);
}
const rssLast = memKiB(child.pid, 'VmRSS');
const cpu1 = cpuTicks(child.pid);
const elapsed = Date.now() - t0;
const hwm = memKiB(child.pid, 'VmHWM');
const reqs = proxy.stats.requests.slice();
child.kill('SIGTERM');
const code = await new Promise((r) => child.once('exit', (c) => r(c)));

const ticks = elapsed / EVERY_MS;
const byClass = {};
for (const r of reqs) byClass[classify(r)] = (byClass[classify(r)] ?? 0) + 1;
const bytes = reqs.reduce((n, r) => n + r.reqBytes + r.resBytes, 0);
const cpuMs = ((cpu1 - cpu0) * 1000) / CLK_TCK;
const result = {
  refs: N, every: opts.every, measuredIntervals: Number(ticks.toFixed(2)),
  requestsPerTick: reqs.length / ticks, requestsPerRefPerTick: reqs.length / ticks / N, byClass,
  wireBytesPerCheck: reqs.length ? bytes / reqs.length : 0,
  cpuMsPerTick: cpuMs / ticks, cpuMsPerCheck: reqs.length ? cpuMs / reqs.length : 0,
  cpuPercentOfOneCore: (cpuMs / elapsed) * 100,
  rssMiB: rssMax / 1024, rssStartMiB: rssFirst / 1024, rssEndMiB: rssLast / 1024, peakRssMiB: hwm / 1024, exitCode: code,
  errors: stderr.split('\n').filter((l) => /"level":"(ERROR|WARN)"/.test(l)).length,
};
console.log(machineInfo({ tools: ['docker-registry'] }));
console.log();
console.log(table([
  ['metric', 'value'],
  ['refs followed', String(N)],
  ['interval (--every)', opts.every],
  ['measured intervals', result.measuredIntervals.toFixed(2)],
  ['requests per interval', result.requestsPerTick.toFixed(1)],
  ['requests per ref per interval', result.requestsPerRefPerTick.toFixed(3)],
  ...Object.entries(byClass).map(([k, v]) => [`  ${k}`, (v / ticks).toFixed(1)]),
  ['wire bytes per check (req+resp)', result.wireBytesPerCheck.toFixed(0)],
  ['CPU ms per interval', result.cpuMsPerTick.toFixed(1)],
  ['CPU ms per check', result.cpuMsPerCheck.toFixed(3)],
  ['CPU % of one core', result.cpuPercentOfOneCore.toFixed(2)],
  ['RSS MiB at start / end of measurement', `${result.rssStartMiB.toFixed(1)} / ${result.rssEndMiB.toFixed(1)}`],
  ['RSS MiB (max during measurement)', result.rssMiB.toFixed(1)],
  ['peak RSS MiB (VmHWM)', result.peakRssMiB.toFixed(1)],
  ['WARN/ERROR log lines', String(result.errors)],
  ['exit code after SIGTERM', String(code)],
]));
if (opts.json) await writeFile(opts.json, JSON.stringify(result, null, 2));
await cleanup();
process.exit(0);
