// Benchmark: start-up of the built CLI vs a bare node (issue 8 "Benchmarks"):
// `rulesctl --version` and `rulesctl artifact list` (built-in index, offline) vs `node -e 0`.
//
//   npx tsc -p . && node bench/startup.mjs [--runs 20] [--warmup 3] [--trace] [--json FILE]
//
// Each command is a fresh process; the commands are interleaved (one of each per round) so a
// load change hits all of them alike; medians reported. Target: `--version` within 2.5x of
// `node -e 0`. --trace also loads `--version` under bench/lib/import-trace.mjs and lists the
// packages it loads and which dist/ file first pulls each in (what to import lazily).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cleanup, onCleanup } from './lib/cleanup.mjs';
import { load, machineInfo } from './lib/machine.mjs';
import { measure } from './lib/measure.mjs';
import { snapshotBuild } from './lib/snapshot.mjs';
import { fmt, median, parseArgs, table } from './lib/stats.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
let BIN = join(ROOT, 'bin', 'rulesctl.cjs'); // replaced by a private snapshot of the build
const opts = parseArgs(process.argv.slice(2), { runs: '20', warmup: '3', trace: false, json: '' });
const runs = Number(opts.runs);

const tmp = await mkdtemp(join(tmpdir(), 'rulesctl-bench-startup-'));
onCleanup(() => rm(tmp, { recursive: true, force: true }));
// A clean HOME/XDG so the user's config and indexes do not change what `artifact list` reads.
const env = { ...process.env, HOME: tmp, XDG_CONFIG_HOME: join(tmp, '.config'), XDG_CACHE_HOME: join(tmp, '.cache'), NO_COLOR: '1' };

// A private copy of the build: others rebuilding dist/ meanwhile must not break or skew the runs.
BIN = join(await snapshotBuild(ROOT, tmp), 'bin', 'rulesctl.cjs');

const commands = [
  { name: 'node -e 0', args: ['-e', '0'], ref: true },
  { name: 'rulesctl --version', args: [BIN, '--version'], target: 2.5 },
  { name: 'rulesctl artifact list', args: [BIN, 'artifact', 'list'] },
];

/** Package (or dist/…) a module URL belongs to. */
function owner(url) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const d = /\/dist\/(.*)$/.exec(url);
  return d ? `dist/${d[1]}` : url;
}

/** Modules loaded by `rulesctl --version`, per package, with the dist/ file that imports each. */
async function trace() {
  const file = join(tmp, 'import-trace.json');
  const r = spawnSync(process.execPath, ['--import', join(HERE, 'lib', 'import-trace.mjs'), BIN, '--version'], { env: { ...env, IMPORT_TRACE_FILE: file }, encoding: 'utf8' });
  let line;
  try { line = readFileSync(file, 'utf8'); } catch { return `trace failed: ${r.stderr.slice(-500)}`; }
  const edges = JSON.parse(line).importTrace.edges;
  const files = new Map();
  const via = new Map();
  for (const [url, parent] of edges) {
    const pkg = owner(url);
    if (pkg.startsWith('dist/') || pkg.startsWith('file:') || pkg.startsWith('node:')) continue;
    files.set(pkg, (files.get(pkg) ?? new Set()).add(url));
    const p = parent ? owner(parent) : null;
    if (p?.startsWith('dist/')) via.set(pkg, (via.get(pkg) ?? new Set()).add(p));
  }
  const dist = new Set(edges.map(([u]) => u).filter((u) => owner(u).startsWith('dist/')));
  const rows = [['package (imported by dist/)', 'modules incl. deps', 'import CPU ms', 'first dist/ importers']];
  const direct = [...via.keys()];
  const closure = (pkg) => {
    // modules reachable from pkg's own modules through node_modules edges
    const seen = new Set();
    const stack = [...(files.get(pkg) ?? [])];
    while (stack.length) {
      const u = stack.pop();
      if (seen.has(u)) continue;
      seen.add(u);
      for (const [child, parent] of edges) if (parent === u && !owner(child).startsWith('dist/')) stack.push(child);
    }
    return seen.size;
  };
  // CPU time (user+sys) rather than wall time: steadier on a loaded machine.
  const cpuMs = async (args) => {
    const t = [];
    for (let i = 0; i < 5; i++) {
      const m = await measure(process.execPath, args, { cwd: ROOT, env });
      t.push((m.userSeconds + m.sysSeconds) * 1000);
    }
    return median(t);
  };
  const importMs = (pkg) => cpuMs(['--input-type=module', '-e', `await import(${JSON.stringify(pkg)})`]);
  const base = await cpuMs(['-e', '0']);
  for (const pkg of direct.sort((a, b) => closure(b) - closure(a))) {
    const importers = [...via.get(pkg)];
    rows.push([pkg, String(closure(pkg)), fmt((await importMs(pkg)) - base, 0), `${importers.slice(0, 3).join(', ')}${importers.length > 3 ? ` (+${importers.length - 3} more)` : ''}`]);
  }
  const total = new Set(edges.map(([u]) => u)).size;
  return `\`rulesctl --version\` loads ${total} modules: ${dist.size} from dist/, ${total - dist.size} from node_modules ` +
    `(import CPU ms: user+sys of a fresh \`node -e "await import(pkg)"\` minus \`node -e 0\`, median of 5; 10 ms resolution).\n${table(rows)}`;
}

try {
  await writeFile(join(tmp, 'placeholder'), '');
  console.log(machineInfo());
  for (const c of commands) c.samples = [];
  for (let w = 0; w < Number(opts.warmup); w++) for (const c of commands) await measure(process.execPath, c.args, { env }).catch(() => {});
  const loads = [load()];
  for (let r = 0; r < runs; r++) {
    for (const c of commands) {
      try {
        c.samples.push(await measure(process.execPath, c.args, { env }));
      } catch (err) {
        c.error = String(err.message).split('\n').slice(0, 3).join(' ');
      }
    }
  }
  loads.push(load());
  const ref = median(commands[0].samples.map((s) => s.seconds));
  const refCpu = median(commands[0].samples.map((x) => x.userSeconds + x.sysSeconds));
  const rows = [['command', 'median ms', 'min ms', 'x node -e 0', 'CPU ms', 'CPU x node', 'peak RSS MB', 'target (wall)']];
  const verdicts = [];
  for (const c of commands) {
    const s = median(c.samples.map((x) => x.seconds));
    const ratio = s / ref;
    const cpu = median(c.samples.map((x) => x.userSeconds + x.sysSeconds));
    rows.push([c.name, fmt(s * 1000, 1), fmt(Math.min(...c.samples.map((x) => x.seconds)) * 1000, 1), fmt(ratio, 2), fmt(cpu * 1000, 0), fmt(cpu / refCpu, 2),
      fmt(median(c.samples.map((x) => x.rssKiB)) * 1024 / 1e6, 0), c.target ? `<= ${c.target}x: ${ratio <= c.target ? 'PASS' : 'FAIL'}` : '']);
    if (c.error) verdicts.push(`${c.name}: failed in some runs: ${c.error}`);
  }
  const sample = commands[2].samples[0]?.stdout ?? '';
  console.log(`\n${table(rows)}\n\nruns: ${runs} per command (after ${opts.warmup} warm-up rounds), interleaved; load average before/after: ${loads.join(' | ')}`);
  console.log(`artifact list printed ${sample.split('\n').filter(Boolean).length} lines${verdicts.length ? `\n${verdicts.join('\n')}` : ''}`);
  if (opts.trace) console.log(`\n${await trace()}`);
  if (opts.json) {
    await writeFile(opts.json, JSON.stringify({ machine: machineInfo(), loads, commands: commands.map((c) => ({ name: c.name, samples: c.samples.map(({ stdout, stderr, ...s }) => s), error: c.error })) }, null, 2));
  }
} finally {
  await cleanup();
}
