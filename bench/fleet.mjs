// Benchmark + model: upstream load of a fleet of followers (issue 6 "A fleet of hosts").
//
//   npx tsc -p . && node bench/fleet.mjs [--hosts 10000] [--refs 3] [--every 6h] [--clusters 10]
//        [--updates-per-week 1] [--sync-every 1h] [--rules-kib 120] [--json FILE]
//
// MEASURED (on local docker-registry processes, through a counting proxy in front of "upstream"):
//   - direct:  one follower check (HEAD by tag) and one follower update (the real `update` of
//              dist/follow/update.js: manifest, config, layer, by digest), requests and wire bytes;
//   - proxy:   the same through a distribution pull-through cache (`proxy.remoteurl`): what reaches
//              upstream for a check, for the first update in a cluster and for later hosts' updates;
//   - sync:    one `registry sync` pass (dist/sync/sync.js) when unchanged and when a new version
//              appeared, what reaches upstream.
// MODELLED: the fleet. Every host follows `--refs` refs every `--every`, with falcoctl's startup
// jitter (first check uniform in [0, every)) or without (all pods start within a minute); each ref
// moves `--updates-per-week` times; hosts are spread over `--clusters` clusters, each with its own
// pull-through cache or in-cluster registry + one sync running every `--sync-every`. Requests and
// bytes per hour = event rates x the measured per-event costs; the per-minute peaks come from
// simulating every host-ref's check times over 24 h. Token requests (ghcr anonymous tokens) are not
// counted: long-running followers and the proxy cache them.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanup, onCleanup } from './lib/cleanup.mjs';
import { machineInfo } from './lib/machine.mjs';
import { freePort, startRegistry } from './lib/registry.mjs';
import { humanSize, parseArgs, table } from './lib/stats.mjs';
import { startCountingProxy } from './fleet.proxy.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const opts = parseArgs(process.argv.slice(2), {
  hosts: '10000', refs: '3', every: '6h', clusters: '10', updatesPerWeek: '1', syncEvery: '1h', rulesKib: '120', json: '',
});
if (!existsSync(join(ROOT, 'dist', 'sync', 'sync.js'))) {
  console.error('dist/ is missing: build first with `npx tsc -p .`');
  process.exit(2);
}
const { parseGoDuration } = await import('../dist/config/duration.js');
const { buildArtifact } = await import('../dist/artifact/build.js');
const { pushArtifact } = await import('../dist/artifact/push.js');
const { createRegistryClient } = await import('../dist/oci/registry/client.js');
const { updateOnce } = await import('../dist/follow/update.js');
const { syncOnce } = await import('../dist/sync/sync.js');

const HOSTS = Number(opts.hosts);
const REFS = Number(opts.refs);
const CLUSTERS = Number(opts.clusters);
const EVERY_H = parseGoDuration(opts.every) / 3_600_000;
const SYNC_H = parseGoDuration(opts.syncEvery) / 3_600_000;
const UPW = Number(opts.updatesPerWeek);

const work = await mkdtemp(join(tmpdir(), 'rulesctl-bench-fleet-'));
onCleanup(() => rm(work, { recursive: true, force: true }));

// Upstream registry behind a counting proxy; everything "upstream" goes through the proxy.
const upstreamReg = await startRegistry(join(work, 'upstream'));
onCleanup(() => upstreamReg.stop());
const upstream = await startCountingProxy(upstreamReg.url);
onCleanup(() => upstream.close());
const pullThrough = await startPullThrough(join(work, 'pullthrough'), upstream.url);
onCleanup(() => pullThrough.stop());
const inCluster = await startRegistry(join(work, 'incluster'));
onCleanup(() => inCluster.stop());

const client = createRegistryClient({ plainHttp: true });
onCleanup(() => client.close());
const REPO = 'falcosecurity/rules/falco-rules';
const TAG = '5';
let version = 0;
async function publish() {
  version++;
  const file = join(work, 'falco_rules.yaml');
  await writeFile(file, rulesText(Number(opts.rulesKib) * 1024, version));
  const built = await buildArtifact({ type: 'rulesfile', files: [{ path: file }], name: 'falco-rules', version: `5.0.${version}`, created: '2026-01-01T00:00:00Z',
    requirements: [{ name: 'engine_version_semver', version: '0.50.0' }] });
  const res = await pushArtifact(client.repository({ registry: upstreamReg.host, repository: REPO }), built, { tags: [TAG] });
  await built.dispose();
  return { digest: res.rootDigest, layerBytes: built.manifests[0].layer.size };
}

/** Requests and wire bytes that reached upstream while `fn` ran. */
async function upstreamCost(fn) {
  upstream.stats.reset();
  await fn();
  await sleep(50);
  const reqs = upstream.stats.requests;
  const counts = new Map();
  for (const r of reqs) counts.set(`${r.method} ${short(r.path)}`, (counts.get(`${r.method} ${short(r.path)}`) ?? 0) + 1);
  const detail = [...counts].map(([k, n]) => (n > 1 ? `${k} x${n}` : k));
  return { requests: reqs.length, bytes: reqs.reduce((n, r) => n + r.reqBytes + r.resBytes, 0), detail };
}
const short = (p) => p.replace(/sha256[:-][0-9a-f]{64}/, 'sha256:…').replace(`/v2/${REPO}/`, '').replace(/blobs\/sha256:…/, 'blob');

function follower(registry, dirName) {
  const target = client.repository({ registry, repository: REPO });
  const dir = join(work, dirName);
  const ctx = {
    ref: `${registry}/${REPO}:${TAG}`, target, repository: `${registry}/${REPO}`, platform: { os: 'linux', architecture: 'amd64' },
    dirs: { rulesfile: join(dir, 'rules'), plugin: join(dir, 'plugins'), asset: join(dir, 'assets') }, tmpDir: join(dir, 'tmp'),
    lastGoodDir: join(dir, 'state', 'last-good'), falcoVersions: { engine_version_semver: '0.63.0' }, allowedTypes: ['rulesfile'],
  };
  return {
    ctx,
    async init() { for (const d of [...Object.values(ctx.dirs), ctx.tmpDir]) await mkdir(d, { recursive: true }); },
    check: () => target.resolve(TAG),
    update: (digest) => updateOnce(ctx, digest, new AbortController().signal),
  };
}

// --- measurements --------------------------------------------------------------------------
const v1 = await publish();
const direct = follower(upstream.host, 'direct');
const viaProxy1 = follower(pullThrough.host, 'proxy1');
const viaProxy2 = follower(pullThrough.host, 'proxy2');
for (const f of [direct, viaProxy1, viaProxy2]) await f.init();
await direct.update(v1.digest);
await viaProxy1.update(v1.digest);
await viaProxy2.update(v1.digest);
const m = {};
m.directCheck = await upstreamCost(() => direct.check());
m.proxyCheck = await upstreamCost(() => viaProxy1.check());
m.proxyCheckAgain = await upstreamCost(() => viaProxy2.check());
const syncDeps = {
  source: async () => client.repository({ registry: upstream.host, repository: REPO }),
  destination: async () => client.repository({ registry: inCluster.host, repository: REPO }),
};
const art = [{ registry: upstream.host, repository: REPO, tag: TAG }];
await syncOnce(art, syncDeps);
m.syncUnchanged = await upstreamCost(() => syncOnce(art, syncDeps));

const v2 = await publish();
m.directUpdate = await upstreamCost(async () => { await direct.check(); await direct.update(v2.digest); });
m.proxyFirstUpdate = await upstreamCost(async () => { await viaProxy1.check(); await viaProxy1.update(v2.digest); });
m.proxyLaterUpdate = await upstreamCost(async () => { await viaProxy2.check(); await viaProxy2.update(v2.digest); });
m.syncChanged = await upstreamCost(() => syncOnce(art, syncDeps));
const inClusterFollower = follower(inCluster.host, 'incluster');
await inClusterFollower.init();
m.hostViaSyncUpdate = await upstreamCost(async () => { await inClusterFollower.check(); await inClusterFollower.update(v2.digest); });

// --- model ---------------------------------------------------------------------------------
const checksPerHour = (HOSTS * REFS) / EVERY_H;
const updatesPerRefPerHour = UPW / 168;
const hostUpdatesPerHour = HOSTS * REFS * updatesPerRefPerHour;
const clusterUpdatesPerHour = CLUSTERS * REFS * updatesPerRefPerHour;
const rate = (checks, checkCost, updates, updateCost, extra = { requests: 0, bytes: 0 }) => ({
  requests: checks * checkCost.requests + updates * updateCost.requests + extra.requests,
  bytes: checks * checkCost.bytes + updates * updateCost.bytes + extra.bytes,
});
// The measured update events include the check that found the new digest; that check is already
// counted in the check rate, so only the extra cost of an update is added per update.
const extra = (u, c) => ({ requests: u.requests - c.requests, bytes: u.bytes - c.bytes });
const scenarios = {
  direct: rate(checksPerHour, m.directCheck, hostUpdatesPerHour, extra(m.directUpdate, m.directCheck)),
  proxy: rate(checksPerHour, m.proxyCheckAgain, clusterUpdatesPerHour, extra(m.proxyFirstUpdate, m.proxyCheckAgain), {
    requests: (hostUpdatesPerHour - clusterUpdatesPerHour) * extra(m.proxyLaterUpdate, m.proxyCheckAgain).requests,
    bytes: (hostUpdatesPerHour - clusterUpdatesPerHour) * extra(m.proxyLaterUpdate, m.proxyCheckAgain).bytes,
  }),
  sync: rate((CLUSTERS * REFS) / SYNC_H, m.syncUnchanged, clusterUpdatesPerHour, extra(m.syncChanged, m.syncUnchanged)),
};
const peaks = { jitter: simulatePeaks(true), noJitter: simulatePeaks(false) };

// --- report --------------------------------------------------------------------------------
console.log(machineInfo({ tools: ['docker-registry'] }));
console.log(`\nartifact: rules file ${opts.rulesKib} KiB, layer ${humanSize(v2.layerBytes)} (tar.gz)\n`);
console.log('MEASURED per event, at upstream (requests / wire bytes, headers included):');
console.log(table([
  ['event', 'requests', 'bytes', 'upstream requests'],
  ...Object.entries(m).map(([k, v]) => [k, String(v.requests), String(v.bytes), v.detail.join(', ') || '-']),
]));
console.log(`\nMODELLED: ${HOSTS} hosts x ${REFS} refs, every ${opts.every}, ${UPW} update(s)/ref/week, ${CLUSTERS} clusters, sync every ${opts.syncEvery}:`);
console.log(table([
  ['upstream load', 'requests/hour', 'bytes/hour', 'peak requests/min (jitter)', 'peak requests/min (no jitter)'],
  ['direct (every host polls upstream)', scenarios.direct.requests.toFixed(0), humanSize(Math.round(scenarios.direct.bytes)),
    (peaks.jitter * m.directCheck.requests).toFixed(0), (peaks.noJitter * m.directCheck.requests).toFixed(0)],
  ['pull-through proxy per cluster', scenarios.proxy.requests.toFixed(0), humanSize(Math.round(scenarios.proxy.bytes)),
    (peaks.jitter * m.proxyCheckAgain.requests).toFixed(0), (peaks.noJitter * m.proxyCheckAgain.requests).toFixed(0)],
  ['registry sync per cluster (hosts follow it)', scenarios.sync.requests.toFixed(1), humanSize(Math.round(scenarios.sync.bytes)),
    (CLUSTERS * REFS * m.syncUnchanged.requests).toFixed(0) + ' (at each pass)', '-'],
]));
if (opts.json) await writeFile(opts.json, JSON.stringify({ options: opts, measured: m, modelled: { checksPerHour, scenarios, peaks } }, null, 2));
await cleanup();
process.exit(0);

// --- helpers -------------------------------------------------------------------------------

/** Max host-ref checks in any minute over 24 h after a rollout where every pod starts within 60 s. */
function simulatePeaks(jitter) {
  const minutes = new Uint32Array(24 * 60);
  const periodMin = EVERY_H * 60;
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < HOSTS * REFS; i++) {
    const start = rand(); // pod start within the first minute
    let t = start + (jitter ? rand() * periodMin : 0);
    for (; t < minutes.length; t += periodMin + 0.002) minutes[Math.floor(t)]++;
  }
  return Math.max(...minutes);
}

/** A rules file of about `bytes` bytes, distinct per version. */
function rulesText(bytes, v) {
  const out = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const item = `- rule: Rule ${i} v${v}\n  desc: Detects event ${i} of a kind worth noticing in version ${v}\n  condition: evt.type in (open, openat) and proc.name = "p${i}" and fd.name startswith /etc/${i}\n  output: "Event ${i} (user=%user.name command=%proc.cmdline file=%fd.name)"\n  priority: WARNING\n  tags: [host, container, mitre_${i % 17}]\n`;
    out.push(item);
    n += item.length;
  }
  return out.join('');
}

/** A docker-registry in pull-through mode (test-registry.md §5), upstream `remoteurl`. */
async function startPullThrough(dir, remoteurl) {
  await mkdir(join(dir, 'data'), { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  await writeFile(config, [
    'version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true',
    'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`,
    'http:', `  addr: ${host}`, '  secret: bench-secret', 'proxy:', `  remoteurl: ${remoteurl}`, '',
  ].join('\n'));
  const log = openSync(join(dir, 'registry.log'), 'a');
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', log, log] });
  closeSync(log);
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://${host}/v2/`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await sleep(100);
  }
  return { host, url: `http://${host}`, stop: async () => { child.kill('SIGTERM'); await sleep(100); } };
}
