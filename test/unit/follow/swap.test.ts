import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPlacementGuard } from '../../../src/follow/daemon.js';
import { healthyBeforeSwap, isRollbackFailure, swapRules } from '../../../src/follow/swap.js';
import { writeStaged } from '../../../src/install/staging.js';
import { memoryLogger } from '../../../src/log.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rulesctl-swap-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function stage(target: string, text: string) {
  return { staged: await writeStaged(target, text, 0o644), target, mode: 0o644 };
}

describe('swapRules', () => {
  it('places, reloads and keeps the new files when Falco stays healthy', async () => {
    const t = join(dir, 'falco_rules.yaml');
    await writeFile(t, 'old');
    const steps: string[] = [];
    const guard = createPlacementGuard();
    await swapRules([await stage(t, 'new')], {
      lastGoodDir: join(dir, 'last-good'),
      guard,
      reload: async () => void steps.push('reload'),
      verify: async () => (steps.push(`verify:${guard.active}`), { healthy: true }),
      sleep: async (ms) => void steps.push(`sleep:${ms}`),
    });
    expect(await readFile(t, 'utf8')).toBe('new');
    expect(steps).toEqual(['reload', 'sleep:1000', 'verify:1']);
  });

  it('rolls back and reloads again when Falco becomes unhealthy', async () => {
    const t = join(dir, 'falco_rules.yaml');
    await writeFile(t, 'old');
    let reloads = 0;
    const log = memoryLogger();
    const err = await swapRules([await stage(t, 'new')], {
      lastGoodDir: join(dir, 'last-good'),
      reload: async () => void reloads++,
      verify: async () => ({ healthy: false, reason: 'HTTP 500' }),
      sleep: async () => {},
      log,
      ref: 'reg/rules:5',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_INVALID_RULES' });
    expect((err as Error).message).toContain('HTTP 500');
    expect(await readFile(t, 'utf8')).toBe('old');
    expect(reloads).toBe(2);
    expect(log.records.find((r) => r.level === 'error')!.fields).toMatchObject({ followerName: 'reg/rules:5', reason: 'HTTP 500' });
  });

  it('treats a failed reload signal as a warning', async () => {
    const t = join(dir, 'r.yaml');
    const log = memoryLogger();
    await swapRules([await stage(t, 'x')], {
      lastGoodDir: join(dir, 'lg'),
      reload: async () => {
        throw new Error('ESRCH');
      },
      log,
    });
    expect(log.records.some((r) => r.level === 'warn' && r.fields.reason === 'ESRCH')).toBe(true);
  });

  it('takes turns across refs sharing the guard: a rollback never restores over another ref\'s swap', async () => {
    // Audit 05: refs A and B ship the same file; A's good update is being checked when B places a
    // file that crashes Falco. Falco's health follows the file on disk.
    const t = join(dir, 'falco_rules.yaml');
    await writeFile(t, 'A1');
    const guard = createPlacementGuard();
    const health = async () => ((await readFile(t, 'utf8')) === 'B1-crashes' ? { healthy: false, reason: 'HTTP 500' } : { healthy: true });
    let placedB!: () => void;
    const bPlaced = new Promise<void>((r) => (placedB = r));
    let b: Promise<unknown> | undefined;
    const startB = async () => {
      b = swapRules([await stage(t, 'B1-crashes')], {
        lastGoodDir: join(dir, 'lg-B'), guard, verify: health, sleep: async () => {}, reload: async () => placedB(),
      }).catch((e: unknown) => e);
    };
    const a = await swapRules([await stage(t, 'A2')], {
      lastGoodDir: join(dir, 'lg-A'), guard, verify: health, reload: async () => {},
      // While A settles, B tries to swap; give it the chance to place before A's check.
      sleep: async () => {
        await startB();
        await Promise.race([bPlaced, delay(100)]);
      },
    }).then(() => 'kept', (e: unknown) => e);
    expect(a).toBe('kept');
    expect(await b).toMatchObject({ code: 'ERR_INVALID_RULES' });
    expect(await readFile(t, 'utf8')).toBe('A2');
    expect(guard.active).toBe(0);
  });

  it('does not swap when Falco is already unhealthy before the swap, and does not blame the update', async () => {
    const t = join(dir, 'falco_rules.yaml');
    await writeFile(t, 'old');
    const steps: string[] = [];
    const guard = createPlacementGuard({ before: healthyBeforeSwap(async () => ({ healthy: false, reason: 'connect ECONNREFUSED', restarting: true })) });
    const change = await stage(t, 'new');
    const err = await swapRules([change], {
      lastGoodDir: join(dir, 'last-good'),
      guard,
      reload: async () => void steps.push('reload'),
      verify: async () => (steps.push('verify'), { healthy: false }),
      sleep: async () => {},
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_NETWORK' });
    expect((err as Error).message).toBe('Falco is not healthy before the update (connect ECONNREFUSED); no file was changed');
    expect(await readFile(t, 'utf8')).toBe('old');
    expect(steps).toEqual([]);
    expect(await readFile(change.staged, 'utf8')).toBe('new');
  });

  it('logs whether Falco recovered with the previous files after a rollback', async () => {
    const t = join(dir, 'falco_rules.yaml');
    await writeFile(t, 'old');
    const answers = [{ healthy: false, reason: 'HTTP 500' }, { healthy: true }];
    const log = memoryLogger();
    await expect(swapRules([await stage(t, 'new')], {
      lastGoodDir: join(dir, 'last-good'), verify: async () => answers.shift()!, sleep: async () => {}, log,
    })).rejects.toMatchObject({ code: 'ERR_INVALID_RULES' });
    expect(await readFile(t, 'utf8')).toBe('old');
    expect(log.records.map((r) => r.msg)).toEqual([
      'Rules files placed', 'Falco is unhealthy after the update, restoring the previous files', 'Falco is healthy with the previous files',
    ]);
  });

  it('reports a rollback that fails as such, not as restored files', async () => {
    const t = join(dir, 'falco_rules.yaml');
    await writeFile(t, 'old');
    const lastGoodDir = join(dir, 'last-good');
    const log = memoryLogger();
    const err = await swapRules([await stage(t, 'new')], {
      lastGoodDir,
      // The kept copy disappears before the rollback needs it.
      verify: async () => (await rm(lastGoodDir, { recursive: true, force: true }), { healthy: false, reason: 'HTTP 500' }),
      sleep: async () => {},
      log,
      ref: 'reg/rules:5',
    }).catch((e: unknown) => e);
    expect(isRollbackFailure(err)).toBe(true);
    expect(err).toMatchObject({ code: 'ERR_IO', details: { rollbackFailed: true, files: [t], reason: 'HTTP 500' } });
    expect((err as Error).message).toMatch(/^rollback failed after Falco became unhealthy \(HTTP 500\): cannot restore .*; the files may be the new version$/);
    expect(await readFile(t, 'utf8')).toBe('new');
    expect(log.records.map((r) => [r.level, r.msg])).toEqual([
      ['info', 'Rules files placed'],
      ['error', 'Falco is unhealthy after the update, restoring the previous files'],
      ['error', 'Rollback failed, the files may be the new version'],
    ]);
  });
});
