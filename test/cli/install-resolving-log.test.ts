/**
 * `Resolving dependencies ...` is logged only when dependencies are resolved, as in falcoctl
 * (cmd/artifact/install/install.go logs it inside `if o.resolveDeps`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../src/oci/registry/client.js';
import { createTargetFactory } from '../../src/oci/targets.js';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { tmpDir } from '../helpers/tmp.js';
import { destinations, publish } from '../integration/install/_publish.js';
import { runCli, testEnv } from './_run.js';

const reg = getRegistries().open;
const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 10, maxMs: 100 } });
afterAll(() => client.close());
const targets = createTargetFactory({ client });

describe('artifact install logs', () => {
  it('says "Resolving dependencies ..." with dependency resolution only', async () => {
    const repository = uniqueRepo('cli/resolving-log');
    await publish(await targets({ registry: reg.host, repository }), { type: 'rulesfile', name: 'resolving-log', version: '1.0.0', tags: ['1.0.0'] });
    const ref = `${reg.host}/${repository}:1.0.0`;
    const env = testEnv(tmpDir('cli-resolving-log'));
    const dirs = async () => {
      const d = await destinations();
      return ['--rulesfiles-dir', d.rulesfilesDir, '--plugins-dir', d.pluginsDir, '--assets-dir', d.assetsDir, '--state-dir', d.stateDir];
    };
    const off = await runCli(['artifact', 'install', ref, '--resolve-deps=false', '--plain-http', ...(await dirs())], { env });
    expect(off.code).toBe(0);
    expect(off.stderr).toContain('Installing artifacts');
    expect(off.stderr).not.toContain('Resolving dependencies');
    const on = await runCli(['artifact', 'install', ref, '--plain-http', ...(await dirs())], { env });
    expect(on.code).toBe(0);
    expect(on.stderr).toContain('Resolving dependencies ...');
  });
});
