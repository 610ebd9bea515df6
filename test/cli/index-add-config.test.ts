/**
 * `index add` writes falcoctl.yaml `indexes` as falcoctl does (cmd/index/add/add.go,
 * internal/config/config.go AddIndexes): the list it extends is config.Indexes(), which falls back
 * to the default falcosecurity index when the file has no `indexes` key, and the entry is written
 * even when the index was already in the cache.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/tmp.js';
import { writeIndex } from '../integration/install/_publish.js';
import { runCli, testEnv } from './_run.js';

const DEFAULT = { name: 'falcosecurity', url: 'https://falcosecurity.github.io/falcoctl/index.yaml', backend: 'https' };

async function setUp(configText?: string) {
  const home = tmpDir('cli-index-add');
  const url = await writeIndex(tmpDir('cli-index-add-src'), [{ name: 'alpha-rules', type: 'rulesfile', registry: 'example.com', repository: 'a/alpha' }]);
  const config = join(home, 'falcoctl.yaml');
  if (configText !== undefined) await writeFile(config, configText);
  return { home, url, config, env: testEnv(home) };
}

const indexesOf = async (config: string) => (yaml.load(await readFile(config, 'utf8')) as { indexes?: unknown }).indexes;

describe('index add and falcoctl.yaml', () => {
  it('a file without an indexes key gets the default index, then the new one', async () => {
    const { url, config, env } = await setUp('artifact:\n  allowedTypes: [rulesfile]\n');
    const r = await runCli(['index', 'add', 'mine', url, '--config', config], { env });
    expect(r.code).toBe(0);
    expect(yaml.load(await readFile(config, 'utf8'))).toEqual({ artifact: { allowedTypes: ['rulesfile'] }, indexes: [DEFAULT, { name: 'mine', url }] });
  });

  it('an index already in the cache is still written into the file', async () => {
    const { url, config, env } = await setUp();
    expect((await runCli(['index', 'add', 'mine', url, '--config', config], { env })).code).toBe(0);
    await writeFile(config, 'indexes: []\n');
    const again = await runCli(['index', 'add', 'mine', url, '--config', config], { env });
    expect(again.code).toBe(0);
    expect(await indexesOf(config)).toEqual([{ name: 'mine', url }]);
    expect(again.stdout).toContain(`added to ${config}`);
    const third = await runCli(['index', 'add', 'mine', url, '--config', config], { env });
    expect(third.stdout).toContain('already exists, nothing done');
    expect(await indexesOf(config)).toEqual([{ name: 'mine', url }]);
  });

  it('with FALCOCTL_INDEXES set, the list extended is the variable\'s, as viper reads it', async () => {
    const { home, url, config } = await setUp('indexes:\n  - name: old\n    url: file:///old/index.yaml\n');
    const env = testEnv(home, { FALCOCTL_INDEXES: 'fromenv,file:///env/index.yaml' });
    const r = await runCli(['index', 'add', 'mine', url, '--config', config], { env });
    expect(r.code).toBe(0);
    expect(await indexesOf(config)).toEqual([{ name: 'fromenv', url: 'file:///env/index.yaml' }, { name: 'mine', url }]);
  });
});
