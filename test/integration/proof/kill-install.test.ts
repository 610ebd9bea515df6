/**
 * Issue 8, Faults: kill -9 of `rulesctl artifact install` at 50 random moments of an update (a rules
 * file and a plugin, v1 ⇄ v2). While it runs and after each kill, every rules and plugin file is the
 * old or the new version, whole (sha256 against the known versions, read every 2 ms by a hammer);
 * the next run, without any manual cleanup, succeeds, holds exactly the requested version and leaves
 * no staging or temp entry in the destinations or the state dir.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../cli/_run.js';
import {
  deadPid, fileSha, hammer, plantStaleTemp, inLanes, installFlags, leftovers, proofDirs, publish, publisher, sha256, spawnRulesctl, tree, type ProofDirs,
} from '../../helpers/proof/proof.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';

const reg = getRegistries().open;
const pub = publisher();
afterAll(() => pub.close());

const LANES = 2;
const CYCLES = 25; // per lane: 50 kills in all
const VERIFY_EVERY = 10; // a full, unkilled run after every 10th kill (the killed runs also start from the previous kill's state)

interface Lane {
  d: ProofDirs;
  refs: (v: 1 | 2) => string[];
  sha: { rules: Record<1 | 2, string>; plugin: Record<1 | 2, string> };
}

async function prepareLane(): Promise<Lane> {
  const rulesRepo = uniqueRepo('proof/kill-install-rules');
  const pluginRepo = uniqueRepo('proof/kill-install-plugin');
  const sha = { rules: {} as Record<1 | 2, string>, plugin: {} as Record<1 | 2, string> };
  for (const v of [1, 2] as const) {
    const rules = `# v${v} ${randomBytes(30_000).toString('base64')}\n- list: proof_kill_${v}\n  items: []\n`;
    const plugin = randomBytes(200_000);
    sha.rules[v] = sha256(rules);
    sha.plugin[v] = sha256(plugin);
    await publish(pub.repository({ registry: reg.host, repository: rulesRepo }), { name: 'proof-rules', version: `${v}.0.0`, content: rules });
    await publish(pub.repository({ registry: reg.host, repository: pluginRepo }), { type: 'plugin', name: 'proof-plugin', version: `${v}.0.0`, content: plugin });
  }
  const d = await proofDirs('proof-kill-install');
  return { d, sha, refs: (v) => [`${reg.host}/${rulesRepo}:${v}.0.0`, `${reg.host}/${pluginRepo}:${v}.0.0`] };
}

/** State-dir temp files (`*.rulesctl-<pid>-*.tmp`) seen after a whole run that followed a kill. */
const stateTemps = new Set<string>();

const rulesFile = (d: ProofDirs): string => join(d.rules, 'proof_rules.yaml');
const pluginFile = (d: ProofDirs): string => join(d.plugins, 'libproof-plugin.so');

/** A full install of version `v`: exit 0, exactly that version, nothing left over. Returns ms from the first log line to the exit. */
async function installWhole(lane: Lane, v: 1 | 2): Promise<number> {
  const run = spawnRulesctl(['artifact', 'install', ...lane.refs(v), ...installFlags(lane.d)], testEnv(lane.d.home));
  await run.waitFor(() => true).catch(() => undefined);
  const started = Date.now();
  const r = await run.proc;
  const took = Date.now() - started;
  expect(r.exitCode, JSON.stringify(run.lines)).toBe(0);
  expect(fileSha(rulesFile(lane.d))).toBe(lane.sha.rules[v]);
  expect(fileSha(pluginFile(lane.d))).toBe(lane.sha.plugin[v]);
  expect(leftovers(lane.d.rules)).toEqual([]);
  expect(leftovers(lane.d.plugins)).toEqual([]);
  // State and lock files land by rename: no temp file. (Extractions of killed runs in the scratch
  // dir <state>/.rulesctl/work are the second test's subject.)
  // Temp files of killed runs in the state dir: recorded here, their cleanup is the third test's subject.
  for (const p of tree(lane.d.state).filter((x) => x.endsWith('.tmp'))) stateTemps.add(p);
  expect(tree(lane.d.state).filter((p) => /staging/.test(p) && !p.startsWith('.rulesctl/work/')), tree(lane.d.state).join('\n')).toEqual([]);
  return took;
}

describe('artifact install under kill -9', () => {
  it(`${LANES * CYCLES} kills: files always whole old or new; the next run recovers`, { timeout: 240_000 }, async () => {
    const lanes = await Promise.all(Array.from({ length: LANES }, () => prepareLane()));
    const known = new Set(lanes.flatMap((l) => [...Object.values(l.sha.rules), ...Object.values(l.sha.plugin)]));
    const watch = hammer(() => lanes.flatMap((l) => [rulesFile(l.d), pluginFile(l.d)]), known, 5);
    const stages: string[] = [];
    let killed = 0;
    let span = 0;
    try {
      // Baseline v1, and the duration of the work of a whole update (first log line to exit) to spread the kills over.
      const durations = await Promise.all(lanes.map((l) => installWhole(l, 1)));
      span = Math.min(...durations);
      await inLanes(LANES, LANES, async (li) => {
        const lane = lanes[li]!;
        // Until CYCLES runs of this lane were really killed (a run that finished before its moment does not count), bounded at
        // 4x: on a loaded machine half the moments can fall after the run finished (CI once got 24 kills of 25 in 2x).
        for (let c = 0, laneKills = 0; laneKills < CYCLES && c < CYCLES * 4; c++) {
          const v: 1 | 2 = c % 2 === 0 ? 2 : 1;
          const run = spawnRulesctl(['artifact', 'install', ...lane.refs(v), ...installFlags(lane.d)], testEnv(lane.d.home));
          await run.waitFor(() => true, 10_000).catch(() => undefined);
          await delay(Math.floor(Math.random() * span));
          run.proc.kill('SIGKILL');
          const r = await run.proc;
          if (r.signal === 'SIGKILL') {
            killed++;
            laneKills++;
          }
          stages.push(r.signal === 'SIGKILL' ? String(run.lines.at(-1)?.msg ?? '(before the first log line)') : '(finished first)');
          for (const [file, pair] of [[rulesFile(lane.d), lane.sha.rules], [pluginFile(lane.d), lane.sha.plugin]] as const) {
            expect([pair[1], pair[2]]).toContain(fileSha(file));
          }
          if ((c + 1) % VERIFY_EVERY === 0) await installWhole(lane, v);
        }
        await installWhole(lane, 2);
      });
    } finally {
      const { reads, failures } = watch.stop();
      expect(failures).toEqual([]);
      expect(reads).toBeGreaterThan(1000);
    }
    const histogram = Object.entries(stages.reduce<Record<string, number>>((h, s) => ({ ...h, [s]: (h[s] ?? 0) + 1 }), {}));
    console.log(`kill -9 of artifact install: ${killed} kills over a ${Math.round(span)} ms window after the first log line, last log line before the kill:\n${histogram.map(([s, n]) => `  ${n} × ${s}`).join('\n')}\nstate-dir temp files left by killed runs and still there after the next whole run: ${stateTemps.size}`);
    expect(killed).toBe(LANES * CYCLES);
  });

  it('the next run removes the extraction a killed run left in the scratch dir', { timeout: 60_000 }, async () => {
    const lane = await prepareLane();
    await installWhole(lane, 1);
    // What a run killed during extraction leaves (seen in the 50-kill test): <state>/.rulesctl/work/.rulesctl-staging-*/.
    const left = join(lane.d.state, '.rulesctl', 'work', '.rulesctl-staging-Pr00fX');
    await mkdir(left, { recursive: true });
    await writeFile(join(left, 'libproof-plugin.so'), randomBytes(1000));
    const run = spawnRulesctl(['artifact', 'install', ...lane.refs(2), ...installFlags(lane.d)], testEnv(lane.d.home));
    expect((await run.proc).exitCode).toBe(0);
    // The dead run's extraction must not outlive the next run (today: kept for an hour, src/install/stage.ts removeStale).
    expect(tree(lane.d.state).filter((p) => p.includes('.rulesctl-staging-'))).toEqual([]);
  });

  it('the next run removes the state temp files a killed run left', { timeout: 60_000 }, async () => {
    const lane = await prepareLane();
    await installWhole(lane, 1);
    const pid = await deadPid();
    const planted = [
      await plantStaleTemp(join(lane.d.state, '.falcoctl', 'artifact-state'), 'proof.json', pid),
      await plantStaleTemp(join(lane.d.state, '.rulesctl', 'installed'), 'proof.json', pid),
    ];
    const run = spawnRulesctl(['artifact', 'install', ...lane.refs(2), ...installFlags(lane.d)], testEnv(lane.d.home));
    expect((await run.proc).exitCode).toBe(0);
    expect(planted.filter((p) => tree(lane.d.state).includes(p.slice(lane.d.state.length + 1)))).toEqual([]);
  });
});
