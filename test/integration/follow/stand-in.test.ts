import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkFalcoHealth, fetchFalcoVersions } from '../../../src/follow/falco-client.js';
import { runDaemon } from '../../../src/follow/daemon.js';
import { everySchedule } from '../../../src/follow/schedule.js';
import { swapRules } from '../../../src/follow/swap.js';
import { placeAtomically, writeStaged } from '../../../src/install/staging.js';
import { readState } from '../../../src/install/state.js';
import { memoryLogger } from '../../../src/log.js';
import { startFalcoStandIn, type FalcoStandIn } from '../../helpers/falco-stand-in.js';

const rules = (tag: string, n = 1) =>
  Array.from({ length: n }, (_, i) =>
    `- rule: ${tag} ${i}\n  desc: d\n  condition: evt.type = open and proc.name = "${tag}${i}"\n  output: "opened %fd.name"\n  priority: WARNING\n`,
  ).join('');
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

let dir: string;
let falco: FalcoStandIn | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rulesctl-standin-'));
});
afterEach(async () => {
  await falco?.close();
  falco = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('Falco stand-in web server', () => {
  it('answers /versions as Falco documents (compact, sorted keys)', async () => {
    falco = await startFalcoStandIn({ pluginVersions: { k8saudit: '0.11.0', container: '0.3.0' } });
    const res = await request(falco.versionsUrl);
    expect(res.headers['content-type']).toBe('application/json');
    expect(await res.body.text()).toBe(
      '{"default_driver_version":"9.0.0+driver","driver_api_version":"8.0.0","driver_schema_version":"3.0.0",' +
        '"engine_version":"63","engine_version_semver":"0.63.0","falco_version":"0.42.0","libs_version":"0.22.0",' +
        '"plugin_api_version":"3.10.0","plugin_versions":{"container":"0.3.0","k8saudit":"0.11.0"}}',
    );
    const v = await fetchFalcoVersions(falco.versionsUrl);
    expect(v.engine_version_semver).toBe('0.63.0');
    expect(v).not.toHaveProperty('plugin_versions');
  });

  it('answers /healthz with {"status": "ok"} and can be made to fail', async () => {
    falco = await startFalcoStandIn({ versions: { falco_version: '0.41.3' } });
    const res = await request(falco.healthzUrl);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('{"status": "ok"}');
    expect(await checkFalcoHealth(falco.healthzUrl)).toEqual({ healthy: true });
    falco.setHealthy(false);
    expect((await checkFalcoHealth(falco.healthzUrl)).healthy).toBe(false);
    expect((await fetchFalcoVersions(falco.versionsUrl)).falco_version).toBe('0.41.3');
    expect(falco.requests.map((r) => r.path)).toEqual(['/healthz', '/healthz', '/healthz', '/versions']);
  });
});

describe('Falco stand-in rules watcher', () => {
  it('reloads after a quiet period when a rules file is replaced, and on SIGHUP', async () => {
    const rulesDir = join(dir, 'rules.d');
    await mkdir(rulesDir);
    const main = join(dir, 'falco_rules.yaml');
    await writeFile(main, rules('a'));
    await writeFile(join(rulesDir, 'extra.yaml'), rules('x'));
    await writeFile(join(rulesDir, 'ignored.txt'), 'not rules: [');
    falco = await startFalcoStandIn({ rulesFiles: [main, rulesDir] });

    const next = falco.waitForReload();
    await placeAtomically(main, rules('b'), 0o644);
    const r = await next;
    expect(r).toMatchObject({ trigger: 'watch', ok: true });
    expect(r.reads.map((x) => [x.file, x.sha256])).toEqual([
      [main, sha(rules('b'))],
      [join(rulesDir, 'extra.yaml'), sha(rules('x'))],
    ]);

    const bad = falco.waitForReload();
    await placeAtomically(join(rulesDir, 'broken.yml'), '- rule: x\n  condition: [unclosed\n', 0o644);
    const failed = await bad;
    expect(failed.ok).toBe(false);
    expect(failed.reads.find((x) => x.file.endsWith('broken.yml'))!.error).toMatch(/^yaml:/);

    expect(falco.reload()).toMatchObject({ trigger: 'signal', ok: false });
  });

  it('hammer catches a half-written file written in place (so it can fail)', async () => {
    const main = join(dir, 'falco_rules.yaml');
    const A = rules('alpha', 200);
    const B = rules('beta', 200);
    await writeFile(main, A);
    falco = await startFalcoStandIn({ rulesFiles: [main], hammer: { knownGood: new Set([sha(A), sha(B)]) } });
    await delay(20);
    const fh = await open(main, 'w');
    await fh.write(B.slice(0, B.length / 2));
    await delay(50);
    await fh.write(B.slice(B.length / 2));
    await fh.close();
    await delay(20);
    await falco.stopHammer();
    expect(falco.hammerFailures.length).toBeGreaterThan(0);
    expect(falco.hammerFailures[0]!.bytes).toBeLessThan(Buffer.byteLength(B));
  });

  it('hammer sees only whole files when they are placed by rename', async () => {
    const main = join(dir, 'falco_rules.yaml');
    const A = rules('alpha', 200);
    const B = rules('beta', 200);
    await writeFile(main, A);
    falco = await startFalcoStandIn({ rulesFiles: [main], hammer: { knownGood: new Set([sha(A), sha(B)]) } });
    for (let i = 0; i < 30; i++) {
      await placeAtomically(main, i % 2 ? A : B, 0o644);
      await delay(2);
    }
    await falco.stopHammer();
    expect(falco.hammerReads).toBeGreaterThan(10);
    expect(falco.hammerFailures).toEqual([]);
  });
});

describe('follow daemon against the stand-in', () => {
  it('swaps a listed rules file so that Falco, watching the file itself, reloads it', async () => {
    // Falco watches a listed file with IN_CLOSE_WRITE|IN_MOVE_SELF|IN_DELETE_SELF; the last-good
    // dir sits on the same filesystem, where a hard-linked backup would keep the old inode alive.
    const rulesDir = join(dir, 'etc-falco');
    await mkdir(rulesDir);
    const target = join(rulesDir, 'falco_rules.yaml');
    await writeFile(target, rules('old'));
    falco = await startFalcoStandIn({ rulesFiles: [target] });
    for (const tag of ['new', 'newer']) {
      const seen = falco.waitForReload((r) => r.reads.some((x) => x.sha256 === sha(rules(tag))));
      await swapRules([{ staged: await writeStaged(target, rules(tag), 0o644), target, mode: 0o644 }], { lastGoodDir: join(dir, 'state', 'last-good') });
      expect(await seen).toMatchObject({ trigger: 'watch', ok: true });
    }
  });

  it('swaps rules Falco reloads whole, and rolls back when Falco turns unhealthy', async () => {
    const rulesDir = join(dir, 'rules');
    const stateDir = join(dir, 'state');
    await mkdir(rulesDir);
    const target = join(rulesDir, 'falco_rules.yaml');
    const content: Record<string, string> = { a: rules('a', 100), b: rules('b', 120), c: rules('c', 140) };
    await writeFile(target, content.a!);
    const digestOf = (k: string) => `sha256:${k.repeat(64)}`;
    falco = await startFalcoStandIn({
      rulesFiles: [rulesDir],
      hammer: { knownGood: new Set(Object.values(content).map(sha)) },
    });
    const stand = falco;

    let tag = 'b';
    const ctrl = new AbortController();
    const log = memoryLogger();
    const run = runDaemon({
      refs: [{
        ref: 'localhost/rules:5',
        headDigest: async () => digestOf(tag),
        update: async (digest, _signal, guard) => {
          const key = digest.slice('sha256:'.length, 'sha256:'.length + 1);
          const change = { staged: await writeStaged(target, content[key]!, 0o644), target, mode: 0o644 };
          await swapRules([change], {
            lastGoodDir: join(stateDir, 'last-good'),
            guard,
            verify: () => checkFalcoHealth(stand.healthzUrl),
            settleMs: 150,
            log,
          });
          return { outcome: 'installed' };
        },
      }],
      stateDir,
      schedule: everySchedule(20),
      startupBehavior: 'immediate',
      signal: ctrl.signal,
      log,
    });

    await falco.waitForReload((r) => r.reads.some((x) => x.sha256 === sha(content.b!)));
    await until(async () => (await readState(stateDir, 'localhost/rules:5'))?.digest === digestOf('b'));

    falco.setHealthy(false);
    tag = 'c';
    await until(() => log.records.some((r) => r.level === 'error' && r.msg === 'Unable to update artifact'));
    ctrl.abort();
    expect((await run).stoppedCleanly).toBe(true);

    expect(await readFile(target, 'utf8')).toBe(content.b);
    expect((await readState(stateDir, 'localhost/rules:5'))?.digest).toBe(digestOf('b'));
    await falco.stopHammer();
    expect(falco.hammerReads).toBeGreaterThan(10);
    expect(falco.hammerFailures).toEqual([]);
    expect(falco.reloads.every((r) => r.ok)).toBe(true);
    expect(await readdir(rulesDir)).toEqual(['falco_rules.yaml']);
  });
});

async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await delay(5);
}
