/**
 * `rulesctl index add/list/remove/update` and `artifact search/list/info` through `main()`:
 * falcoctl's cache files under $HOME/.config/falcoctl, falcoctl.yaml `indexes` kept in step when
 * the file exists, the built-in index when nothing is configured, tags from the registry.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { main } from '../../src/cli/main.js';
import { createRegistryClient } from '../../src/oci/registry/client.js';
import { createTargetFactory } from '../../src/oci/targets.js';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { tmpDir } from '../helpers/tmp.js';
import { publish, writeIndex } from '../integration/install/_publish.js';

const reg = getRegistries().open;
const client = createRegistryClient({ plainHttp: true, retry: { baseMs: 10, maxMs: 100 } });
afterAll(() => client.close());
const targets = createTargetFactory({ client });

async function run(argv: string[], home: string) {
  let stdout = '';
  let stderr = '';
  const out = new Writable({ write(c, _e, cb) { stdout += String(c); cb(); } });
  const err = new Writable({ write(c, _e, cb) { stderr += String(c); cb(); } });
  const code = await main(argv, { env: { HOME: home }, stdout: out, stderr: err, cwd: home, signal: new AbortController().signal });
  return { code, stdout, stderr };
}

describe('index commands', () => {
  it('add, list, update and remove keep indexes.yaml, the cache file and falcoctl.yaml in step', async () => {
    const home = tmpDir('cli-index-home');
    const url = await writeIndex(tmpDir('cli-index'), [{ name: 'alpha-rules', type: 'rulesfile', registry: 'example.com', repository: 'a/alpha' }]);
    const config = join(home, 'falcoctl.yaml');
    // An explicit empty list: without the key, index add extends falcoctl's default list (index-add-config.test.ts).
    await writeFile(config, 'artifact:\n  allowedTypes: [rulesfile]\nindexes: []\n');
    expect((await run(['index', 'add', 'mine', url, '--config', config], home)).code).toBe(0);
    const cache = join(home, '.config', 'falcoctl');
    expect(await readFile(join(cache, 'indexes', 'mine.yaml'), 'utf8')).toContain('- name: alpha-rules\n  type: rulesfile\n');
    expect(yaml.load(await readFile(config, 'utf8'))).toEqual({ artifact: { allowedTypes: ['rulesfile'] }, indexes: [{ name: 'mine', url }] });
    const again = await run(['index', 'add', 'mine', url, '--config', config], home);
    expect(again.stdout).toContain('already exists');
    const list = await run(['index', 'ls', '--config', config], home);
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s*\tURL\s*\tADDED\s*\tUPDATED\s*$/);
    expect(list.stdout).toContain(`mine\t${url}\t`);
    const update = await run(['index', 'update', '-o', 'json', '--config', config], home);
    expect(JSON.parse(update.stdout)).toMatchObject([{ name: 'mine', url, changed: true }]);
    // artifact list/search read falcoctl.yaml's index (the cached copy).
    const listed = await run(['artifact', 'list', '-o', 'json', '--config', config], home);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ index: 'mine', name: 'alpha-rules' })]);
    expect((await run(['index', 'rm', 'mine', '--config', config], home)).code).toBe(0);
    expect(existsSync(join(cache, 'indexes', 'mine.yaml'))).toBe(false);
    expect(yaml.load(await readFile(config, 'utf8'))).toEqual({ artifact: { allowedTypes: ['rulesfile'] }, indexes: [] });
  });

  it('without a config file, index add records the index in indexes.yaml only and artifact commands use it', async () => {
    const home = tmpDir('cli-index-home');
    const url = await writeIndex(tmpDir('cli-index'), [{ name: 'beta-plugin', type: 'plugin', registry: 'example.com', repository: 'b/beta' }]);
    const config = join(home, 'none', 'falcoctl.yaml');
    expect((await run(['index', 'add', 'solo', url, '--config', config], home)).code).toBe(0);
    expect(existsSync(config)).toBe(false);
    const search = await run(['artifact', 'search', 'beta-plugin', '-o', 'json', '--config', config], home);
    expect(JSON.parse(search.stdout).map((r: { name: string; index: string }) => [r.index, r.name])).toEqual([['solo', 'beta-plugin']]);
  });
});

describe('artifact search, list, info', () => {
  it('searches the built-in index offline when no index is configured', async () => {
    const home = tmpDir('cli-search-home');
    const r = await run(['artifact', 'search', 'k8saudit', '--type', 'rulesfile', '--config', join(home, 'missing.yaml')], home);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^INDEX\s*\tARTIFACT\s*\tTYPE\s*\tREGISTRY\s*\tREPOSITORY\s*$/);
    expect(lines.slice(1).map((l) => l.split('\t')[1]!.trim())).toEqual(['k8saudit-rules', 'k8saudit-gke-rules']);
    const bad = await run(['artifact', 'search', 'x', '--min-score', '1.5', '--config', join(home, 'missing.yaml')], home);
    expect(bad.code).toBe(2);
    const plugins = await run(['artifact', 'list', '--type', 'plugin', '-o', 'json', '--config', join(home, 'missing.yaml')], home);
    expect(JSON.parse(plugins.stdout)).toHaveLength(18);
  });

  it('info lists registry tags without *.sig, for names and full refs; unknown names are skipped', async () => {
    const home = tmpDir('cli-info-home');
    const repository = uniqueRepo('cli-info');
    const target = await targets({ registry: reg.host, repository });
    await publish(target, { type: 'rulesfile', name: 'info-rules', version: '1.2.0', tags: ['1.2.0', '1', 'latest'] });
    const manifest = await target.resolve('latest');
    await target.tag(manifest, `sha256-${manifest.digest.slice(7)}.sig`);
    const url = await writeIndex(tmpDir('cli-index'), [{ name: 'info-rules', type: 'rulesfile', registry: reg.host, repository }]);
    const config = join(home, 'falcoctl.yaml');
    await writeFile(config, `indexes:\n  - name: local\n    url: ${url}\n`);
    const r = await run(['artifact', 'info', 'info-rules', `${reg.host}/${repository}:whatever`, 'info-rules:5', '--plain-http', '--config', config, '-o', 'json'], home);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ ref: string; tags: string[] }>;
    expect(rows.map((x) => x.ref)).toEqual([`${reg.host}/${repository}`, `${reg.host}/${repository}`]);
    expect(rows[0]!.tags.sort()).toEqual(['1', '1.2.0', 'latest']);
    expect(r.stderr).toContain('Cannot find artifact, skipping');
  });
});
