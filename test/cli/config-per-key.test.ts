/**
 * A bad falcoctl.yaml value fails only the commands that read its key (falcoctl reads its config
 * per command): in the Falco chart a bad `artifact.follow.every` must not stop the
 * `artifact install` init container. A command reading the key still fails with the file's message.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileErrorsByKey, resolveSettings } from '../../src/config/load.js';
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

describe('a bad falcoctl.yaml value', () => {
  it('does not stop artifact install; artifact follow, which reads it, fails naming it', async () => {
    const repository = uniqueRepo('cli/per-key');
    await publish(await targets({ registry: reg.host, repository }), { type: 'rulesfile', name: 'per-key-rules', version: '1.0.0', tags: ['1.0.0'] });
    const d = await destinations();
    const home = tmpDir('cli-per-key');
    const config = join(home, 'falcoctl.yaml');
    await writeFile(config, [
      'artifact:',
      '  follow:',
      '    every: 7d',
      `    refs: [${reg.host}/${repository}:1.0.0]`,
      '  install:',
      `    refs: [${reg.host}/${repository}:1.0.0]`,
      `    rulesfilesDir: ${d.rulesfilesDir}`,
      `    pluginsDir: ${d.pluginsDir}`,
      `    stateDir: ${d.stateDir}`,
      '',
    ].join('\n'));
    const env = testEnv(home);
    const install = await runCli(['artifact', 'install', '--config', config, '--plain-http'], { env });
    expect(install.stderr).not.toContain('Error');
    expect(install.code).toBe(0);
    expect(await readdir(d.rulesfilesDir)).toEqual(['per_key_rules.yaml']);
    const follow = await runCli(['artifact', 'follow', '--config', config, '--plain-http'], { env });
    expect(follow.code).toBe(1);
    expect(follow.stderr).toContain(`invalid config file "${config}":\n  artifact.follow.every: `);
    expect(follow.stderr).toContain('7d');
  });

  it('a file that is not YAML still fails every command', async () => {
    const home = tmpDir('cli-per-key-yaml');
    const config = join(home, 'falcoctl.yaml');
    await writeFile(config, 'artifact: [unclosed\n');
    const r = await runCli(['artifact', 'install', 'x/y:1', '--config', config], { env: testEnv(home) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`invalid config file "${config}":\n  invalid YAML`);
  });
});

describe('fileErrorsByKey / resolveSettings with file errors', () => {
  it('sorts errors by key, by block, or as general', () => {
    const { byKey, general } = fileErrorsByKey([
      'artifact.follow.every: invalid duration "7d"',
      'Registry.Auth.Basic[0].password: expected a string',
      'artifact.install: expected a mapping, got 3',
      'invalid YAML at line 1, column 2: bad',
    ]);
    expect(byKey.get('artifact.follow.every')).toBe('artifact.follow.every: invalid duration "7d"');
    expect(byKey.get('registry.auth.basic')).toBe('Registry.Auth.Basic[0].password: expected a string');
    expect(byKey.get('artifact.install.refs')).toBe('artifact.install: expected a mapping, got 3');
    expect(byKey.get('artifact.install.statedir')).toBe('artifact.install: expected a mapping, got 3');
    expect(byKey.has('artifact.follow.refs')).toBe(false);
    expect(general).toEqual(['invalid YAML at line 1, column 2: bad']);
  });

  it('get of a bad file key throws; other keys and env-set keys resolve', () => {
    const fileErrors = new Map([['artifact.follow.every', 'artifact.follow.every: invalid duration "7d"']] as const);
    const s = resolveSettings({ env: {}, fileConfig: { 'artifact.install.statedir': '/s' }, fileErrors, filePath: '/etc/falcoctl/falcoctl.yaml' });
    expect(s.get('artifact.install.statedir')).toBe('/s');
    expect(() => s.get('artifact.follow.every')).toThrow('invalid config file "/etc/falcoctl/falcoctl.yaml":\n  artifact.follow.every: invalid duration "7d"');
    expect(s.sourceOf('artifact.follow.every')).toBe('file');
    const env = resolveSettings({ env: { FALCOCTL_ARTIFACT_FOLLOW_EVERY: '1h' }, fileErrors });
    expect(env.get('artifact.follow.every')).toBe(3_600_000);
  });
});
