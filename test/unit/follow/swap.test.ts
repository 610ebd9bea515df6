import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPlacementGuard } from '../../../src/follow/daemon.js';
import { swapRules } from '../../../src/follow/swap.js';
import { writeStaged } from '../../../src/install/place.js';
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
});
