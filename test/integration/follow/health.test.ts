import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { follow } from '../../../src/api/index.js';
import { readState } from '../../../src/install/state.js';
import { memoryLogger } from '../../../src/log.js';
import { startFalcoStandIn, type FalcoStandIn } from '../../helpers/falco-stand-in.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { followDirs, pushRules, rules, sha, until } from './_follow.js';

/**
 * Falco's health around a follow swap, through the library's follow() (src/follow/run.ts wiring):
 * Falco's web server is down while it restarts to load new rules, and may be down before a swap.
 */

let falco: FalcoStandIn | undefined;
afterEach(async () => {
  await falco?.close();
  falco = undefined;
});

/**
 * A repository holding v1 of a rules file, a Falco stand-in watching the rules dir whose web server
 * is down 1.5 s per restart, and the library's follow() on it with a health check, every `everyMs`.
 */
async function followWithHealth(name: string, everyMs: number) {
  const open = getRegistries().open;
  const repo = uniqueRepo(name);
  const ref = `${open.host}/${repo}:1`;
  const d = followDirs();
  falco = await startFalcoStandIn({ rulesFiles: [d.rules], restartDownMs: 1500 });
  const stand = falco;
  const log = memoryLogger();
  const ctrl = new AbortController();
  const v1 = await pushRules(open.host, repo, '1', rules('v1', 3));
  const running = follow([ref], {
    everyMs, startupBehavior: 'immediate', falcoVersionsUrl: stand.versionsUrl, healthUrl: stand.healthzUrl,
    settleMs: 300, timeoutMs: 20_000, rulesfilesDir: d.rules, stateDir: d.state, tmpDir: d.tmp,
    allowedTypes: ['rulesfile'], plainHttp: true, env: {}, home: d.home, logger: log, signal: ctrl.signal,
  });
  return {
    ref, d, stand, log, v1, target: join(d.rules, 'falco_rules.yaml'),
    push: (tag: string) => pushRules(open.host, repo, '1', rules(tag, 3)),
    stop: async () => {
      ctrl.abort();
      await running;
    },
  };
}

describe('artifact follow health check', () => {
  it('keeps a good update while Falco restarts, and does not swap while Falco is already unhealthy', async () => {
    // Audit 04: the probe after the swap lands while the web server is down for the restart.
    const { ref, d, stand, log, v1, target, push, stop } = await followWithHealth('follow/health', 200);
    const digests = [v1];
    try {
      await until(async () => (await readState(d.state, ref))?.digest === digests[0], 30_000, 'v1 installed');
      digests.push(await push('v2'));
      await until(async () => (await readState(d.state, ref))?.digest === digests[1], 30_000, 'v2 installed');
      expect(await readFile(target, 'utf8')).toBe(rules('v2', 3));
      expect(stand.reloads.some((r) => r.reads.some((x) => x.sha256 === sha(rules('v2', 3))))).toBe(true);

      // Falco down before the next swap: no file changes, no rollback; the update goes through later.
      stand.setHealthy(false);
      const reloads = stand.reloads.length;
      digests.push(await push('v3'));
      await until(() => log.records.some((r) => r.msg === 'Unable to update artifact' && /not healthy before the update/.test(String(r.fields.reason))), 30_000, 'the refused swap');
      expect(await readFile(target, 'utf8')).toBe(rules('v2', 3));
      expect(stand.reloads.length).toBe(reloads);
      stand.setHealthy(true);
      await until(async () => (await readState(d.state, ref))?.digest === digests[2], 30_000, 'v3 installed');
      expect(await readFile(target, 'utf8')).toBe(rules('v3', 3));
    } finally {
      await stop();
    }
    expect(log.records.filter((r) => /restoring the previous files|Rolled back/.test(r.msg))).toEqual([]);
  });

  it('reports a failed rollback as an error and leaves the state file without the old digest', async () => {
    // Ticks 3 s apart: the state file is read well before the next tick looks at it again.
    const { ref, d, stand, log, v1, target, push, stop } = await followWithHealth('follow/rollback-fails', 3000);
    try {
      await until(async () => (await readState(d.state, ref))?.digest === v1, 30_000, 'v1 installed');
      await push('v2');
      // While Falco restarts on v2: v2 crashes it, and the last-good copy is gone.
      await until(async () => (await readFile(target, 'utf8')) === rules('v2', 3), 30_000, 'v2 placed');
      await rm(join(d.state, '.rulesctl', 'last-good'), { recursive: true, force: true });
      stand.setHealthy(false);
      const failed = (r: { msg: string; fields: Record<string, unknown> }) => r.msg === 'Unable to update artifact' || r.fields.reason === 'rolled-back';
      await until(() => log.records.some(failed), 30_000, 'the end of the v2 update');
      expect(await readState(d.state, ref)).toBeUndefined();
      const outcome = log.records.find(failed)!;
      expect(outcome).toMatchObject({ level: 'error', msg: 'Unable to update artifact' });
      expect(String(outcome.fields.reason)).toMatch(/^rollback failed after Falco became unhealthy \(HTTP 500\)/);
      expect(log.records.some((r) => r.level === 'error' && r.msg === 'Rollback failed, the files may be the new version')).toBe(true);
      expect(await readFile(target, 'utf8')).toBe(rules('v2', 3));
    } finally {
      await stop();
    }
  });
});
