import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startFalcoStandIn, type FalcoStandIn } from '../../helpers/falco-stand-in.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { followArgs, followDirs, pushRules, rules, sha, spawnCli, until, type Spawned } from './_follow.js';

/**
 * `rulesctl artifact follow` end to end: the built CLI against the real registry and the Falco
 * stand-in (issue 6, "Tests that must exist and pass").
 */

const open = () => getRegistries().open;
let falco: FalcoStandIn | undefined;
const running: Spawned[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) {
    r.proc.kill('SIGKILL');
    await r.proc;
  }
  await falco?.close();
  falco = undefined;
});

function start(args: string[], d: ReturnType<typeof followDirs>): Spawned {
  const s = spawnCli(args, d);
  running.push(s);
  return s;
}

const isMsg = (m: string | RegExp) => (l: Record<string, unknown>) => (typeof m === 'string' ? l.msg === m : m.test(String(l.msg)));

describe('artifact follow', () => {
  it('installs a new version within two ticks while Falco reads only whole files', async () => {
    const repo = uniqueRepo('follow/update');
    const A = rules('alpha', 300);
    const B = rules('beta', 320);
    await pushRules(open().host, repo, '1', A);
    const d = followDirs();
    const target = join(d.rules, 'falco_rules.yaml');
    falco = await startFalcoStandIn({ rulesFiles: [d.rules], hammer: { knownGood: new Set([sha(A), sha(B)]) } });
    const f = start(followArgs(d, falco.versionsUrl, [`${open().host}/${repo}:1`], ['--log-level', 'debug']), d);
    await f.waitFor(isMsg('Artifact correctly installed'));
    expect(readFileSync(target, 'utf8')).toBe(A);

    await pushRules(open().host, repo, '1', B, { version: '1.0.1' });
    const mark = f.lines().length;
    const installed = await f.waitFor((l) => l.msg === 'Artifact correctly installed' && f.lines().indexOf(l) >= mark);
    expect(readFileSync(target, 'utf8')).toBe(B);
    const between = f.lines().slice(mark, f.lines().indexOf(installed));
    // At most one check could have been in flight when the push finished; the next one installs.
    expect(between.filter(isMsg('Nothing to do, artifact already up to date.')).length).toBeLessThanOrEqual(1);
    expect(f.lines().some((l) => /^Rules changes: rules \+320 -300 ~0/.test(String(l.msg)))).toBe(true);
    const sawB = (r: { reads: { sha256: string }[] }) => r.reads.some((x) => x.sha256 === sha(B));
    if (!falco.reloads.some(sawB)) await falco.waitForReload(sawB, 10_000);
    await falco.stopHammer();
    expect(falco.hammerReads).toBeGreaterThan(10);
    expect(falco.hammerFailures).toEqual([]);
    expect(falco.reloads.every((r) => r.ok)).toBe(true);
    // State kept for the init container / restarts, last-good under the state dir, no leftovers.
    expect(readdirSync(join(d.state, '.falcoctl', 'artifact-state'))).toHaveLength(1);
    expect(existsSync(join(d.state, '.rulesctl', 'last-good'))).toBe(true);
    expect(readdirSync(d.rules)).toEqual(['falco_rules.yaml']);
  });

  it('refuses an invalid rules file: error logged with the reference, old file intact', async () => {
    const repo = uniqueRepo('follow/invalid');
    const A = rules('good', 20);
    await pushRules(open().host, repo, 'latest', A);
    const d = followDirs();
    falco = await startFalcoStandIn({ rulesFiles: [d.rules] });
    const ref = `${open().host}/${repo}:latest`;
    const f = start(followArgs(d, falco.versionsUrl, [ref]), d);
    await f.waitFor(isMsg('Artifact correctly installed'));
    const bad = await pushRules(open().host, repo, 'latest', '- rule: broken\n  desc: d\n  condition: evt.type = open\n  priority: WARNING\n');
    const err = await f.waitFor((l) => l.level === 'ERROR' && l.msg === 'Invalid rules file, not installing');
    expect(err.followerName).toBe(ref);
    expect(err.reference).toBe(`${open().host}/${repo}@${bad}`);
    expect(JSON.stringify(err.problems)).toMatch(/falco_rules\.yaml:1: error: rule 'broken'/);
    await delay(2500);
    expect(readFileSync(join(d.rules, 'falco_rules.yaml'), 'utf8')).toBe(A);
    // Refused once per digest: no download again on later ticks.
    expect(f.lines().filter((l) => l.msg === 'Invalid rules file, not installing')).toHaveLength(1);
  });

  it('skips, with a warning naming both versions, an artifact needing a newer engine', async () => {
    const repo = uniqueRepo('follow/engine');
    const A = rules('old', 5);
    await pushRules(open().host, repo, '2', A);
    const d = followDirs();
    falco = await startFalcoStandIn({ rulesFiles: [d.rules] });
    const f = start(followArgs(d, falco.versionsUrl, [`${open().host}/${repo}:2`]), d);
    await f.waitFor(isMsg('Artifact correctly installed'));
    await pushRules(open().host, repo, '2', rules('new', 5), { requirements: [{ name: 'engine_version_semver', version: '0.99.0' }] });
    const warn = await f.waitFor((l) => l.level === 'WARN' && /Unmet requirements/.test(String(l.msg)));
    expect(warn.msg).toMatch(/requires engine_version_semver 0\.99\.0, Falco reports 0\.63\.0/);
    expect(readFileSync(join(d.rules, 'falco_rules.yaml'), 'utf8')).toBe(A);
  });

  it('rolls back to the last good set when Falco is unhealthy after the swap', async () => {
    const repo = uniqueRepo('follow/rollback');
    const A = rules('stable', 10);
    await pushRules(open().host, repo, '3', A);
    const d = followDirs();
    // Falco restarts on each reload (web server down 500 ms) and comes back unhealthy on the crashy
    // rules; it is healthy before the swap, or rulesctl would not swap at all.
    falco = await startFalcoStandIn({ rulesFiles: [d.rules], restartDownMs: 500 });
    const stand = falco;
    const f = start(followArgs(d, falco.versionsUrl, [`${open().host}/${repo}:3`], ['--health-url', falco.healthzUrl, '--health-settle', '1s']), d);
    await f.waitFor(isMsg('Artifact correctly installed'));
    const crashy = rules('crashy', 10);
    void stand.waitForReload((r) => r.reads.some((x) => x.sha256 === sha(crashy)), 20_000).then(() => stand.setHealthy(false), () => {});
    await pushRules(open().host, repo, '3', crashy);
    await f.waitFor((l) => l.level === 'ERROR' && l.msg === 'Falco is unhealthy after the update, restoring the previous files');
    await f.waitFor((l) => l.level === 'WARN' && /^Rolled back/.test(String(l.msg)));
    expect(readFileSync(join(d.rules, 'falco_rules.yaml'), 'utf8')).toBe(A);
    const state = readdirSync(join(d.state, '.falcoctl', 'artifact-state'));
    expect(state).toHaveLength(1);
  });

  it('exits 0 on SIGTERM within the deadline', async () => {
    const repo = uniqueRepo('follow/sigterm');
    await pushRules(open().host, repo, '1', rules('x', 3));
    const d = followDirs();
    falco = await startFalcoStandIn({ rulesFiles: [d.rules] });
    const f = start(followArgs(d, falco.versionsUrl, [`${open().host}/${repo}:1`]), d);
    await f.waitFor(isMsg('Artifact correctly installed'));
    const sent = Date.now();
    f.proc.kill('SIGTERM');
    const res = await f.proc;
    expect(res.exitCode).toBe(0);
    expect(Date.now() - sent).toBeLessThan(5000 + 2000);
    expect(f.lines().map((l) => l.msg)).toEqual(expect.arrayContaining(['Closing followers...', 'Followers correctly stopped.']));
  });

  it('takes refs from artifact.follow.refs and fails clearly without any', async () => {
    const repo = uniqueRepo('follow/config');
    const A = rules('cfg', 3);
    await pushRules(open().host, repo, '1', A);
    const d = followDirs(`artifact:\n  follow:\n    refs: [${open().host}/${repo}:1]\n`);
    falco = await startFalcoStandIn();
    const f = start(followArgs(d, falco.versionsUrl, []), d);
    await f.waitFor(isMsg('Artifact correctly installed'));
    expect(readFileSync(join(d.rules, 'falco_rules.yaml'), 'utf8')).toBe(A);

    const empty = followDirs();
    writeFileSync(empty.config, '');
    const g = start(followArgs(empty, falco.versionsUrl, []), empty);
    const res = await g.proc;
    expect(res.exitCode).not.toBe(0);
    expect(JSON.stringify(g.lines())).toMatch(/no artifacts to follow/);
  });
});
