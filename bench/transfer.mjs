// Benchmark: push and pull of a random blob (default 256 MiB) on a private local docker-registry,
// rulesctl vs `skopeo copy` vs curl, in one run (issue 3 "Benchmark", issue 8 "Benchmarks").
//
//   npx tsc -p . && node bench/transfer.mjs [--size 256M[,1G]] [--runs 3] [--warmup 1] [--json FILE]
//
// Every tool runs as its own process (wall time = what a user waits, start-up included); tool
// order rotates between runs; medians are reported. rulesctl's peak RSS comes from
// /usr/bin/time (max RSS of bench/lib/rulesctl-transfer.mjs). Between pushes the pushed blob is
// deleted from the registry's storage so no tool can skip or mount it (skopeo keeps a blob-info
// cache and would mount it from an earlier repository). The CLI push gets a real .tar.gz of about
// the same size (anything else it would first pack into one, as falcoctl does).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanup, cleaningUp, onCleanup } from './lib/cleanup.mjs';
import { load, machineInfo } from './lib/machine.mjs';
import { hasGnuTime, killActive, measure } from './lib/measure.mjs';
import { pluginArtifact, writeLayout, writeRandomFile, writeTarGz } from './lib/oci-files.mjs';
import { blobDir, repoDir, startRegistry } from './lib/registry.mjs';
import { fmt, humanSize, median, parseArgs, parseSize, table } from './lib/stats.mjs';
import { cliSupports } from './lib/cli.mjs';
import { snapshotBuild } from './lib/snapshot.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const HELPER = join(HERE, 'lib', 'rulesctl-transfer.mjs');
let BIN = join(ROOT, 'bin', 'rulesctl.cjs'); // replaced by the snapshot's
let HELPER_ENV = process.env;
const TAG = '1.0.0';

const opts = parseArgs(process.argv.slice(2), { size: '256M', runs: '3', warmup: '1', json: '', cli: true });
const sizes = String(opts.size).split(',').map(parseSize);
const runs = Number(opts.runs);
const warmup = Number(opts.warmup);

if (!existsSync(join(ROOT, 'dist', 'oci', 'registry', 'client.js'))) {
  console.error('dist/ is missing: build first with `npx tsc -p .`');
  process.exit(2);
}
if (!hasGnuTime) console.error('note: /usr/bin/time not installed (apt-get install -y time); peak RSS polled from /proc');

const sh = (script) => measure('bash', ['-c', `set -euo pipefail\n${script}`]);
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** curl: POST an upload session, then one monolithic PUT of `file` (`flag`: --data-binary @ or -T). */
function curlPushScript(url, repo, file, digest, flag) {
  const data = flag === 'T' ? `-T ${q(file)}` : `--data-binary @${q(file)}`;
  return `loc=$(curl -sS -f -o /dev/null -D - -X POST ${q(`${url}/v2/${repo}/blobs/uploads/`)} | tr -d '\\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
curl -sS -f -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' ${data} "$loc&digest=${digest}"`;
}

async function curlPutSmall(url, repo, bytes, digest, dir) {
  const f = join(dir, `small-${digest.slice(7, 19)}`);
  await writeFile(f, bytes);
  await sh(curlPushScript(url, repo, f, digest, 'data'));
  await rm(f);
}

async function curlPutManifest(url, repo, tag, bytes, dir) {
  const f = join(dir, 'manifest.json');
  await writeFile(f, bytes);
  await sh(`curl -sS -f -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @${q(f)} ${q(`${url}/v2/${repo}/manifests/${tag}`)}`);
  await rm(f);
}

async function benchSize(size, reg, tmp, cli) {
  const dir = await mkdtemp(join(tmp, `size-${size}-`));
  console.error(`[${humanSize(size)}] writing the push layout and the pull blob...`);
  const layoutDir = join(dir, 'push-layout');
  const { layerFile, artifact: pushArt } = await writeLayout(layoutDir, size, TAG);
  const pluginFile = join(dir, 'plugin.tar.gz'); // the CLI's input: a real tar.gz of about the same size
  const plugin = cli.push ? await writeTarGz(pluginFile, size) : undefined;
  const pullFile = join(dir, 'pull-src.bin');
  const pullLayer = await writeRandomFile(pullFile, size);
  const pullArt = pluginArtifact(pullLayer, 'bench-pull');
  const pullRepo = `bench/pull-${size}`;
  await sh(curlPushScript(reg.url, pullRepo, pullFile, pullLayer.digest, 'T'));
  await curlPutSmall(reg.url, pullRepo, pullArt.config, pullArt.configDesc.digest, dir);
  await curlPutManifest(reg.url, pullRepo, TAG, pullArt.manifest, dir);
  await rm(pullFile);
  const out = join(dir, 'out');
  let seq = 0;

  const cleanPush = async (repo) => {
    await rm(repoDir(reg.rootDir, repo), { recursive: true, force: true });
    await rm(blobDir(reg.rootDir, pushArt.layerDesc.digest), { recursive: true, force: true });
    await rm(blobDir(reg.rootDir, pushArt.configDesc.digest), { recursive: true, force: true });
    if (plugin) await rm(blobDir(reg.rootDir, plugin.digest), { recursive: true, force: true });
  };
  const checkPushed = async (repo, blobOnly) => {
    const path = blobOnly ? `blobs/${pushArt.layerDesc.digest}` : `manifests/${TAG}`;
    const res = await fetch(`${reg.url}/v2/${repo}/${path}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' } });
    if (res.status !== 200) throw new Error(`after the push, HEAD ${repo}/${path} answered ${res.status}`);
  };
  const pullSrc = `${reg.host}/${pullRepo}`;
  const pullBlobUrl = `${reg.url}/v2/${pullRepo}/blobs/${pullLayer.digest}`;

  // Each tool: run(repo|out) → measurement; kind push|pull; after: check + clean.
  const tools = [
    // curl --data-binary @FILE reads the file into memory: "out of memory" at 1 GiB here.
    { phase: 'push', name: 'curl --data-binary (blob)', ref: 'curl', blobOnly: true, mayFail: true,
      run: (repo) => sh(curlPushScript(reg.url, repo, layerFile, pushArt.layerDesc.digest, 'data')) },
    { phase: 'push', name: 'curl -T (blob, streamed)', blobOnly: true,
      run: (repo) => sh(curlPushScript(reg.url, repo, layerFile, pushArt.layerDesc.digest, 'T')) },
    { phase: 'push', name: 'skopeo copy oci: docker://', ref: 'skopeo',
      run: (repo) => measure('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layoutDir}:${TAG}`, `docker://${reg.host}/${repo}:${TAG}`]) },
    { phase: 'push', name: 'rulesctl lib push (file stream)', rulesctl: true, target: true,
      run: (repo) => measure(process.execPath, [HELPER, 'push', reg.host, repo, TAG, layoutDir], { env: HELPER_ENV }) },
    { phase: 'push', name: 'rulesctl lib copy(layout→reg)', rulesctl: true,
      run: (repo) => measure(process.execPath, [HELPER, 'push-copy', reg.host, repo, TAG, layoutDir], { env: HELPER_ENV }) },
    ...(cli.push ? [{ phase: 'push', name: 'rulesctl registry push (CLI)', rulesctl: true,
      run: (repo) => measure(process.execPath, [BIN, ...cli.pushArgs(`${reg.host}/${repo}:${TAG}`, pluginFile)]) }] : []),

    { phase: 'pull', name: 'curl | tee FILE | sha256sum', ref: 'curl',
      run: async (o) => {
        const r = await sh(`curl -sS -f ${q(pullBlobUrl)} | tee ${q(o)} | sha256sum`);
        if (!r.stdout.startsWith(pullLayer.digest.slice(7))) throw new Error(`curl pull: digest differs: ${r.stdout}`);
        return r;
      } },
    { phase: 'pull', name: 'skopeo copy docker:// oci:', ref: 'skopeo',
      run: (o) => measure('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${pullSrc}:${TAG}`, `oci:${o}:${TAG}`]) },
    { phase: 'pull', name: 'rulesctl lib fetch→file', rulesctl: true, target: true,
      run: (o) => measure(process.execPath, [HELPER, 'pull', reg.host, pullRepo, TAG, o], { env: HELPER_ENV }) },
    { phase: 'pull', name: 'node+undici loop (reference)', helper: true,
      run: (o) => measure(process.execPath, [HELPER, 'pull-raw', reg.host, pullRepo, pullLayer.digest, o], { env: HELPER_ENV }) },
    { phase: 'pull', name: 'rulesctl lib copy(reg→layout)', rulesctl: true,
      run: (o) => measure(process.execPath, [HELPER, 'pull-copy', reg.host, pullRepo, TAG, o], { env: HELPER_ENV }) },
    ...(cli.pull ? [{ phase: 'pull', name: 'rulesctl registry pull (CLI)', rulesctl: true,
      run: async (o) => { await mkdir(o, { recursive: true }); return measure(process.execPath, [BIN, ...cli.pullArgs(`${pullSrc}:${TAG}`, o)]); } }] : []),
  ];
  for (const t of tools) t.samples = [];

  const runOne = async (t, record) => {
    if (t.error || cleaningUp()) return;
    try {
      await runTool(t, record);
    } catch (err) {
      // A failing tool is reported, never fatal: curl --data-binary runs out of memory at 1 GiB
      // (skipped from then on); anything else is counted and tried again in the next run.
      const why = String(err.message).split('\n').filter((l) => /curl:|error/i.test(l))[0] ?? String(err.message).split('\n')[0];
      console.error(`${t.name}: failed: ${why}`);
      if (t.mayFail) t.error = why;
      else (t.failures ??= []).push(why);
    }
  };
  const runTool = async (t, record) => {
    seq++;
    if (t.phase === 'push') {
      const repo = `bench/push-${seq}`;
      await cleanPush(repo);
      const m = await t.run(repo);
      await checkPushed(repo, t.blobOnly);
      await cleanPush(repo);
      if (record) t.samples.push(m);
    } else {
      const o = `${out}-${seq}`;
      await rm(o, { recursive: true, force: true });
      const m = await t.run(o);
      await rm(o, { recursive: true, force: true });
      if (record) t.samples.push(m);
    }
  };

  for (let w = 0; w < warmup; w++) {
    console.error(`[${humanSize(size)}] warm-up ${w + 1}/${warmup}`);
    for (const t of tools) await runOne(t, false);
  }
  const loads = [];
  for (let r = 0; r < runs; r++) {
    const order = tools.map((_, i) => tools[(i + r) % tools.length]);
    if (r % 2 === 1) order.reverse();
    loads.push(load());
    console.error(`[${humanSize(size)}] run ${r + 1}/${runs} (load ${load()}): ${order.map((t) => t.name.split(' ')[0]).join(', ')}`);
    for (const t of order) await runOne(t, true);
  }
  await rm(dir, { recursive: true, force: true });
  return { size, tools, loads };
}

function report({ size, tools, loads }) {
  const mib = size / 1024 ** 2;
  const med = (t, k) => median(t.samples.map((s) => s[k]));
  const lines = [];
  const notes = [];
  for (const phase of ['push', 'pull']) {
    const ts = tools.filter((t) => t.phase === phase);
    const curl = med(ts.find((t) => t.ref === 'curl' && !t.error) ?? ts.find((t) => t.name.startsWith('curl') && !t.error), 'seconds');
    const skopeo = med(ts.find((t) => t.ref === 'skopeo'), 'seconds');
    const rows = [[`${phase.toUpperCase()} ${humanSize(size)}`, 'median s', 'min s', 'MiB/s', 'x curl', 'x skopeo', 'CPU s', 'peak RSS MB', 'in-proc s']];
    for (const t of ts) {
      if (t.error) {
        rows.push([t.name, 'failed', '', '', '', '', '', '', '']);
        notes.push(`${t.name}: failed: ${t.error}`);
        continue;
      }
      if (!t.samples.length) {
        rows.push([t.name, 'failed', '', '', '', '', '', '', '']);
        notes.push(`${t.name}: failed ${t.failures?.length ?? 0}x: ${t.failures?.[0] ?? ''}`);
        continue;
      }
      const s = med(t, 'seconds');
      const inproc = t.rulesctl || t.helper ? median(t.samples.map((x) => { try { return JSON.parse(x.stdout.trim().split('\n').pop()).transferMs / 1000; } catch { return NaN; } })) : NaN;
      rows.push([t.name, fmt(s), fmt(Math.min(...t.samples.map((x) => x.seconds))), fmt(mib / s, 0), fmt(s / curl, 2), fmt(s / skopeo, 2),
        fmt(med(t, 'userSeconds') + med(t, 'sysSeconds'), 2), fmt(med(t, 'rssKiB') * 1024 / 1e6, 0), fmt(inproc)]);
    }
    lines.push(table(rows), '');
  }
  lines.push(...notes);
  for (const t of tools) if (t.failures?.length && t.samples.length) lines.push(`${t.name}: failed in ${t.failures.length} run(s): ${t.failures[0]}`);
  lines.push('x curl: ratio to curl --data-binary (push; curl -T when --data-binary failed) and to curl | tee | sha256sum (pull)');
  lines.push(`runs: ${Math.max(...tools.map((t) => t.samples.length))} per tool; load average at the start of each run: ${loads.join(' | ')}`);
  return lines.join('\n');
}

function verdicts(results) {
  const lines = [];
  const get = (r, name) => r.tools.find((t) => t.name === name);
  const sec = (t) => median(t.samples.map((s) => s.seconds));
  const rss = (t) => Math.max(...t.samples.map((s) => s.rssKiB)) * 1024 / 1e6;
  const mark = (ok) => (ok ? 'PASS' : 'FAIL');
  for (const r of results) {
    const pull = get(r, 'rulesctl lib fetch→file');
    const push = get(r, 'rulesctl lib push (file stream)');
    const curlPull = sec(r.tools.find((t) => t.phase === 'pull' && t.ref === 'curl'));
    const skPull = sec(r.tools.find((t) => t.phase === 'pull' && t.ref === 'skopeo'));
    const skPush = sec(r.tools.find((t) => t.phase === 'push' && t.ref === 'skopeo'));
    const h = humanSize(r.size);
    lines.push(`[${h}] pull no slower than curl|tee|sha256sum: ${mark(sec(pull) <= curlPull)} (${fmt(sec(pull) / curlPull, 2)}x)`);
    lines.push(`[${h}] pull <= 0.85x skopeo (issue 3): ${mark(sec(pull) <= 0.85 * skPull)} (${fmt(sec(pull) / skPull, 2)}x); <= 0.8x (issue 8): ${mark(sec(pull) <= 0.8 * skPull)}`);
    lines.push(`[${h}] push no slower than skopeo: ${mark(sec(push) <= skPush)} (${fmt(sec(push) / skPush, 2)}x)`);
    const cliPull = get(r, 'rulesctl registry pull (CLI)');
    const cliPush = get(r, 'rulesctl registry push (CLI)');
    if (cliPull?.samples.length) lines.push(`[${h}] CLI pull: ${fmt(sec(cliPull) / curlPull, 2)}x curl|tee|sha256sum (${mark(sec(cliPull) <= curlPull)}), ${fmt(sec(cliPull) / skPull, 2)}x skopeo (<= 0.85x: ${mark(sec(cliPull) <= 0.85 * skPull)})`);
    if (cliPush?.samples.length) lines.push(`[${h}] CLI push (checks the tar.gz, hashes, uploads: 3 reads): ${fmt(sec(cliPush) / skPush, 2)}x skopeo (${mark(sec(cliPush) <= skPush)})`);
    const lib = Math.max(...r.tools.filter((t) => t.rulesctl && !t.name.includes('CLI') && t.samples.length).map(rss));
    const cli = r.tools.filter((t) => t.rulesctl && t.name.includes('CLI') && t.samples.length).map(rss);
    lines.push(`[${h}] peak RSS < 150 MB: library ${mark(lib < 150)} (${fmt(lib, 0)} MB)` +
      (cli.length ? `; CLI ${mark(Math.max(...cli) < 150)} (${fmt(Math.max(...cli), 0)} MB)` : ''));
  }
  if (results.length > 1) {
    const peaks = results.map((r) => Math.max(...r.tools.filter((t) => t.rulesctl && t.samples.length).map(rss)));
    const grow = peaks[peaks.length - 1] - peaks[0];
    lines.push(`peak RSS ${results.map((r, i) => `${humanSize(r.size)}: ${fmt(peaks[i], 0)} MB`).join(', ')}: ` +
      `${mark(grow < 16)} not growing with size (+${fmt(grow, 0)} MB; threshold 16 MB)`);
  }
  return lines.join('\n');
}

const tmp = await mkdtemp(join(tmpdir(), 'rulesctl-bench-transfer-'));
onCleanup(() => rm(tmp, { recursive: true, force: true }));
try {
  const snap = await snapshotBuild(ROOT, tmp);
  BIN = join(snap, 'bin', 'rulesctl.cjs');
  HELPER_ENV = { ...process.env, RULESCTL_ROOT: snap };
  const reg = await startRegistry(join(tmp, 'registry'));
  onCleanup(() => reg.stop());
  onCleanup(killActive); // runs first: no tool keeps using the registry or the files
  const cli = opts.cli ? await cliSupports(BIN, reg, join(tmp, 'cli-probe')) : { push: false, pull: false, pushWhy: '--cli=false', pullWhy: '--cli=false' };
  console.log(machineInfo({ tools: ['skopeo', 'curl', 'docker-registry'] }));
  console.log(`registry: ${reg.url} (pid ${reg.pid}); CLI registry push: ${cli.push ? 'measured' : `not measured (${cli.pushWhy})`}; CLI registry pull: ${cli.pull ? 'measured' : `not measured (${cli.pullWhy})`}\n`);
  const results = [];
  for (const size of sizes) {
    const r = await benchSize(size, reg, tmp, cli);
    results.push(r);
    console.log(report(r), '\n');
  }
  console.log(verdicts(results));
  if (opts.json) {
    await writeFile(opts.json, JSON.stringify({ machine: machineInfo({ tools: ['skopeo', 'curl'] }), results: results.map((r) => ({
      size: r.size, loads: r.loads,
      tools: r.tools.map((t) => ({ name: t.name, phase: t.phase, samples: t.samples.map(({ stdout, stderr, ...s }) => ({ ...s, stdout: t.rulesctl || t.helper ? stdout.trim() : undefined })) })),
    })) }, null, 2));
  }
} finally {
  await cleanup();
}
