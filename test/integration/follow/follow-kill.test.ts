import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startFalcoStandIn, type FalcoStandIn } from '../../helpers/falco-stand-in.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { followArgs, followDirs, pushRules, rules, sha, spawnCli } from './_follow.js';

/**
 * kill -9 of the follower at random moments while it updates: Falco's file is always one whole
 * version (the hammer reads it throughout), and the next start recovers without manual cleanup.
 */

let falco: FalcoStandIn | undefined;
afterEach(async () => {
  await falco?.close();
  falco = undefined;
});

describe('artifact follow under kill -9', () => {
  it('leaves the old or the new file, whole, and recovers on restart', { timeout: 120_000 }, async () => {
    const open = getRegistries().open;
    const repo = uniqueRepo('follow/kill');
    const versions = [rules('alpha', 300), rules('beta', 320), rules('gamma', 340)];
    const good = new Set(versions.map(sha));
    const d = followDirs();
    const target = join(d.rules, 'falco_rules.yaml');
    falco = await startFalcoStandIn({ rulesFiles: [d.rules], hammer: { knownGood: good, intervalMs: 2 } });
    const ref = `${open.host}/${repo}:1`;
    let kills = 0;
    const seen = new Set<string>();
    // A first, clean install: from here on the file must always exist, whole.
    await pushRules(open.host, repo, '1', versions[2]!, { version: '1.0.0-base' });
    const first = spawnCli(followArgs(d, falco.versionsUrl, [ref]), d);
    await first.waitFor((l) => l.msg === 'Artifact correctly installed', 30_000);
    first.proc.kill('SIGTERM');
    await first.proc;
    for (let i = 0; i < 12; i++) {
      await pushRules(open.host, repo, '1', versions[i % versions.length]!, { version: `1.0.${i}` });
      const f = spawnCli(followArgs(d, falco.versionsUrl, [ref]), d);
      // Aim at the update: from the moment the new digest is seen until shortly after placement.
      await f.waitFor((l) => l.msg === 'Found new artifact version', 20_000);
      await delay(Math.floor(Math.random() * 400));
      f.proc.kill('SIGKILL');
      const res = await f.proc;
      if (res.signal === 'SIGKILL') kills++;
      const now = readFileSync(target);
      expect(good.has(sha(now))).toBe(true);
      seen.add(sha(now));
    }
    expect(kills).toBeGreaterThanOrEqual(10);
    // A clean start converges on the last pushed version and removes the killed runs' staging files.
    const last = versions[11 % versions.length]!;
    const f = spawnCli(followArgs(d, falco.versionsUrl, [ref]), d);
    const end = Date.now() + 20_000;
    while (Date.now() < end) {
      if (f.lines().some((l) => l.msg === 'Artifact correctly installed' || l.msg === 'Nothing to do, artifact already up to date.' || l.msg === 'Artifact files already in place')) break;
      await delay(25);
    }
    await delay(300);
    f.proc.kill('SIGTERM');
    expect((await f.proc).exitCode).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe(last);
    expect(readdirSync(d.rules)).toEqual(['falco_rules.yaml']);
    expect(readdirSync(d.tmp)).toEqual([]);
    await falco.stopHammer();
    expect(falco.hammerReads).toBeGreaterThan(20);
    expect(falco.hammerFailures).toEqual([]);
    expect(falco.reloads.every((r) => r.ok)).toBe(true);
    // Kills land anywhere from the download to after the rename: the file was only ever a whole version.
    expect(seen.size).toBeGreaterThanOrEqual(1);
  });
});
