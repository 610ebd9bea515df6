import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { follow } from '../../../src/api/index.js';
import { readState } from '../../../src/install/state.js';
import { memoryLogger } from '../../../src/log.js';
import { startFalcoStandIn, type FalcoStandIn } from '../../helpers/falco-stand-in.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { followDirs, pushPlugin, pushRules, rules, until } from './_follow.js';

/**
 * A rules update that needs a newer plugin than Falco had loaded at start (audit 07), through the
 * library's follow() (src/follow/run.ts wiring): the requirement is checked against Falco's versions
 * read again, and against the plugins the daemon itself placed (Falco loads them on its next restart).
 */

let falco: FalcoStandIn | undefined;
afterEach(async () => {
  await falco?.close();
  falco = undefined;
});

function start(refs: string[], d: ReturnType<typeof followDirs>, stand: FalcoStandIn, log: ReturnType<typeof memoryLogger>, signal: AbortSignal) {
  return follow(refs, {
    everyMs: 200, startupBehavior: 'immediate', falcoVersionsUrl: stand.versionsUrl, rulesfilesDir: d.rules, pluginsDir: d.plugins,
    stateDir: d.state, tmpDir: d.tmp, allowedTypes: ['rulesfile', 'plugin'], plainHttp: true, env: {}, home: d.home, logger: log, signal,
  });
}

describe('artifact follow requirements on plugins', () => {
  it('installs rules needing the plugin version the plugin follower just placed', async () => {
    const open = getRegistries().open;
    const [pluginRepo, rulesRepo] = [uniqueRepo('follow/container'), uniqueRepo('follow/needs-container')];
    await pushPlugin(open.host, pluginRepo, '0', 'container', '0.4.0');
    const rulesDigest = await pushRules(open.host, rulesRepo, '1', rules('needs_container', 3), { dependencies: [{ name: 'container', version: '0.4.0' }] });
    const d = followDirs();
    falco = await startFalcoStandIn({ pluginVersions: { container: '0.3.0' } });
    const log = memoryLogger();
    const ctrl = new AbortController();
    const rulesRef = `${open.host}/${rulesRepo}:1`;
    const running = start([rulesRef, `${open.host}/${pluginRepo}:0`], d, falco, log, ctrl.signal);
    try {
      await until(async () => (await readState(d.state, rulesRef))?.digest === rulesDigest, 20_000, 'the rules installed');
      expect(existsSync(join(d.plugins, 'libcontainer.so'))).toBe(true);
      expect(existsSync(join(d.rules, 'falco_rules.yaml'))).toBe(true);
    } finally {
      ctrl.abort();
      await running;
    }
  });

  it('checks the requirement against Falco\'s versions read again, not the ones read at start', async () => {
    const open = getRegistries().open;
    const repo = uniqueRepo('follow/needs-json');
    const digest = await pushRules(open.host, repo, '1', rules('needs_json', 3), { dependencies: [{ name: 'json', version: '0.8.0' }] });
    const d = followDirs();
    falco = await startFalcoStandIn({ pluginVersions: { json: '0.7.0' } });
    const stand = falco;
    const log = memoryLogger();
    const ctrl = new AbortController();
    const ref = `${open.host}/${repo}:1`;
    const running = start([ref], d, stand, log, ctrl.signal);
    try {
      await until(() => log.records.some((r) => r.fields.reason === 'requirements'), 20_000, 'the refusal');
      expect(await readState(d.state, ref)).toBeUndefined();
      // Falco restarted meanwhile with json 0.8.0 (e.g. after another follower's swap).
      stand.setPluginVersions({ json: '0.8.0' });
      await until(async () => (await readState(d.state, ref))?.digest === digest, 20_000, 'the rules installed');
    } finally {
      ctrl.abort();
      await running;
    }
  });
});
