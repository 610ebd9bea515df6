/**
 * What the kill -9 proofs of `install` and `follow` (test/integration/proof/kill-*.test.ts) share:
 * two versions of a rules artifact and a plugin to flip between, and the campaign itself: lanes
 * that each start a run, kill it at a random moment of an update, check the files are whole old
 * or new, and after every few kills let a whole run prove the next one recovers; a hammer reads
 * the files all along.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'vitest';
import type { RegistryClient } from '../../../src/oci/registry/client.js';
import { fileSha, hammer, inLanes, publish, sha256, type Child, type ProofDirs } from './proof.js';

export type Version = 1 | 2;

/** sha256 of the rules file and of the plugin of each version. */
export interface VersionShas {
  rules: Record<Version, string>;
  plugin: Record<Version, string>;
}

/** Publishes `proof-rules` and `proof-plugin` 1.0.0 and 2.0.0 (random content, tagged `1.0.0`, `2.0.0`) to the two repositories. */
export async function publishTwoVersions(pub: RegistryClient, registry: string, repos: { rules: string; plugin: string }, list: string): Promise<VersionShas> {
  const sha = { rules: {}, plugin: {} } as VersionShas;
  for (const v of [1, 2] as const) {
    const rules = `# v${v} ${randomBytes(30_000).toString('base64')}\n- list: ${list}_${v}\n  items: []\n`;
    const plugin = randomBytes(200_000);
    sha.rules[v] = sha256(rules);
    sha.plugin[v] = sha256(plugin);
    await publish(pub.repository({ registry, repository: repos.rules }), { name: 'proof-rules', version: `${v}.0.0`, content: rules });
    await publish(pub.repository({ registry, repository: repos.plugin }), { type: 'plugin', name: 'proof-plugin', version: `${v}.0.0`, content: plugin });
  }
  return sha;
}

export const rulesFile = (d: ProofDirs): string => join(d.rules, 'proof_rules.yaml');
export const pluginFile = (d: ProofDirs): string => join(d.plugins, 'libproof-plugin.so');

export interface KillLane {
  d: ProofDirs;
  sha: VersionShas;
}

/** The rules file and the plugin of `lane` are each version 1 or version 2, whole. */
export function expectWholeOldOrNew(lane: KillLane): void {
  for (const [file, pair] of [[rulesFile(lane.d), lane.sha.rules], [pluginFile(lane.d), lane.sha.plugin]] as const) {
    expect([pair[1], pair[2]]).toContain(fileSha(file));
  }
}

export interface Campaign<L extends KillLane> {
  lanes: L[];
  /** Killed runs wanted per lane. */
  kills: number;
  /** A whole run after every this many runs of a lane (the killed runs also start from the previous kill's state). */
  verifyEvery: number;
  /** Fewest reads the hammer must have made of the files (it reads them every 5 ms). */
  minReads: number;
  /** Moves the lane's registry side to version `v` before a run (follow moves its tags); default nothing. */
  prepare?(lane: L, v: Version): Promise<void>;
  /** Starts a run that updates the lane to version `v`. */
  start(lane: L, v: Version): Child;
  /** The run did its update before the kill (so the kill does not count); default: it exited before the kill. */
  finished?(run: Child, lane: L): boolean;
  /** A whole, unkilled run to version `v` that asserts its outcome; returns ms from its first log line to the end of its update. */
  whole(lane: L, v: Version): Promise<number>;
}

/**
 * Runs the campaign: a whole run to version 1 on every lane (the shortest of them is the window
 * the kills are spread over, after a run's first log line), then per lane, alternately to version
 * 2 and 1, runs killed at a random moment until `kills` of them were killed during their update
 * (bounded at 4x: on a loaded machine half the moments can fall after the update, CI once got 24
 * kills of 25 in 2x), then a whole run to version 2. Returns the kills and, per run, the last log
 * line before its kill.
 */
export async function killCampaign<L extends KillLane>(c: Campaign<L>): Promise<{ killed: number; span: number; histogram: string }> {
  const { lanes } = c;
  const known = new Set(lanes.flatMap((l) => [...Object.values(l.sha.rules), ...Object.values(l.sha.plugin)]));
  const watch = hammer(() => lanes.flatMap((l) => [rulesFile(l.d), pluginFile(l.d)]), known, 5);
  const stages: string[] = [];
  let killed = 0;
  let span = 0;
  try {
    if (c.prepare) await Promise.all(lanes.map((l) => c.prepare!(l, 1)));
    span = Math.min(...(await Promise.all(lanes.map((l) => c.whole(l, 1)))));
    await inLanes(lanes.length, lanes.length, async (li) => {
      const lane = lanes[li]!;
      for (let n = 0, laneKills = 0; laneKills < c.kills && n < c.kills * 4; n++) {
        const v: Version = n % 2 === 0 ? 2 : 1;
        await c.prepare?.(lane, v);
        const run = c.start(lane, v);
        await run.waitFor(() => true, 10_000).catch(() => undefined);
        await delay(Math.floor(Math.random() * span));
        const finishedFirst = c.finished?.(run, lane) ?? false;
        run.proc.kill('SIGKILL');
        const r = await run.proc;
        const counted = r.signal === 'SIGKILL' && !finishedFirst;
        if (counted) {
          killed++;
          laneKills++;
        }
        stages.push(counted ? String(run.lines.at(-1)?.msg ?? '(before the first log line)') : '(finished first)');
        expectWholeOldOrNew(lane);
        if ((n + 1) % c.verifyEvery === 0) await c.whole(lane, v);
      }
      await c.prepare?.(lane, 2);
      await c.whole(lane, 2);
    });
  } finally {
    const { reads, failures } = watch.stop();
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(c.minReads);
  }
  const counts = stages.reduce<Record<string, number>>((h, s) => ({ ...h, [s]: (h[s] ?? 0) + 1 }), {});
  return { killed, span, histogram: Object.entries(counts).map(([s, n]) => `  ${n} × ${s}`).join('\n') };
}
