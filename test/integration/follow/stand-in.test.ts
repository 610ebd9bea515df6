import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkFalcoHealth, fetchFalcoVersions } from '../../../src/follow/falco-client.js';
import { placeAtomically } from '../../../src/install/place.js';
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
