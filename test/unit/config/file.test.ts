import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText, readConfigFile, updateConfigFile } from '../../../src/config/file.js';
import { resolveSettings } from '../../../src/config/load.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../../fixtures/config/${name}`, import.meta.url));

describe('readConfigFile', () => {
  it('loads the Helm chart falcoctl.yaml without error', async () => {
    const r = await readConfigFile(fixture('helm-values-falcoctl.yaml'));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.config['artifact.install.rulesfilesdir']).toBe('/rulesfiles');
    expect(r.config['artifact.follow.every']).toBe(168 * 3_600_000);
    expect(r.config['artifact.install.refs']).toEqual(['falco-rules:5', 'ghcr.io/falcosecurity/plugins/plugin/container:0.7.1']);
    expect(r.config['artifact.allowedTypes']).toEqual(['rulesfile', 'plugin']);
    const s = resolveSettings({ env: {}, fileConfig: r.config });
    expect(s.get('artifact.install.statedir')).toBe('/artifactstate');
    expect(s.sourceOf('artifact.install.assetsdir')).toBe('default');
    expect(s.get('indexes')).toEqual([{ name: 'falcosecurity', url: 'https://falcosecurity.github.io/falcoctl/index.yaml', backend: '' }]);
  });

  it('accepts the Falco package file and its driver block silently', async () => {
    const r = await readConfigFile(fixture('falco-package-falcoctl.yaml'));
    expect(r).toMatchObject({ errors: [], warnings: [], exists: true });
    expect(r.config['artifact.follow.falcoversions']).toBe('http://localhost:8765/versions');
    expect(r.config['artifact.follow.every']).toBe(168 * 3_600_000);
  });

  it('reports problems with dotted keys and warns about unknown keys', async () => {
    const r = await readConfigFile(fixture('invalid.yaml'));
    expect(r.errors).toEqual([
      'artifact.follow.every: expected a duration like "6h", got 3',
      'artifact.follow.startupBehavior: expected one of (skip, jitter, immediate), got "sometimes"',
      'artifact.follow.refs: expected refs separated by ";", got "a;;b"',
      'artifact.install.resolveDeps: expected true or false, got "maybe"',
      'artifact.allowedTypes: unrecognized artifact type in config: "driver", must be one of "rulesfile", "plugin", "asset"',
      'indexes[0].url: required',
      'registry.auth.basic[0].password: expected a string, got a mapping',
      'registry.creds: expected a mapping, got "/not/a/mapping"',
    ]);
    expect(r.warnings).toEqual(['artifacts: unknown key, ignored']);
  });

  it('treats a missing file as empty and does not create it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rulesctl-cfg-'));
    const path = join(dir, 'falcoctl.yaml');
    expect(await readConfigFile(path)).toEqual({ config: {}, warnings: [], errors: [], exists: false });
    await expect(stat(path)).rejects.toThrow();
    await rm(dir, { recursive: true });
  });
});

describe('parseConfigText', () => {
  it('reads keys case-insensitively and warns on duplicates', () => {
    const r = parseConfigText('artifact:\n  install:\n    rulesFilesDir: /a\n    RULESFILESDIR: /b\n');
    expect(r.config['artifact.install.rulesfilesdir']).toBe('/b');
    expect(r.warnings).toEqual(['artifact.install.RULESFILESDIR: set more than once (keys are case-insensitive); the last one wins']);
  });

  it('never quotes the document around a YAML syntax error', () => {
    const r = parseConfigText('registry:\n  auth:\n    basic:\n    - {registry: r, user: u, password: hunter2-secret\n');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^invalid YAML at line \d+, column \d+: /);
    expect(r.errors[0]).not.toContain('hunter2-secret');
  });

  it('rejects a non-mapping document, accepts an empty one', () => {
    expect(parseConfigText('- a\n').errors).toEqual(['expected a mapping at the top level, got a list']);
    expect(parseConfigText('')).toEqual({ config: {}, warnings: [], errors: [], exists: true });
    expect(parseConfigText('artifact:\n').errors).toEqual([]);
  });

  it('accepts the env string form of record lists in the file too, as falcoctl decode hooks do', () => {
    const r = parseConfigText('indexes: "a,https://a/i.yaml"\nregistry:\n  auth:\n    basic: "ghcr.io,u,SECRET-p;bad"\n    gcp: "g1;g2"\n');
    expect(r.config.indexes).toEqual([{ name: 'a', url: 'https://a/i.yaml', backend: '' }]);
    expect(r.config['registry.auth.gcp']).toEqual([{ registry: 'g1' }, { registry: 'g2' }]);
    expect(r.errors).toEqual(['registry.auth.basic: not valid token "<redacted>"']);
  });

  it('never quotes a value under registry.auth in a shape error (it may be a credential)', () => {
    const r = parseConfigText('registry:\n  auth:\n    basic:\n      - ghcr.io,alice,ghp_SECRET1\n    oauth:\n      - [r, cid, CLIENT-SECRET2]\n');
    expect(r.errors).toEqual(['registry.auth.basic[0]: expected a mapping, got a string', 'registry.auth.oauth[0]: expected a mapping, got a list']);
    const top = parseConfigText('registry:\n  auth: ghcr.io,alice,ghp_SECRET3\n');
    expect(top.errors).toEqual(['registry.auth: expected a mapping, got a string']);
    // Outside registry.auth the value still helps.
    expect(parseConfigText('registry:\n  creds: /x\n').errors).toEqual(['registry.creds: expected a mapping, got "/x"']);
  });

  it('splits a one-element refs list like falcoctl', () => {
    expect(parseConfigText('artifact:\n  follow:\n    refs: ["a:1;b:2"]\n').config['artifact.follow.refs']).toEqual(['a:1', 'b:2']);
    expect(parseConfigText('artifact:\n  allowedTypes: rulesfile,plugin\n').config['artifact.allowedTypes']).toEqual(['rulesfile', 'plugin']);
  });
});

describe('updateConfigFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rulesctl-cfg-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rewrites one key, keeping unknown keys and the spelling in the file', async () => {
    const path = join(dir, 'falcoctl.yaml');
    await writeFile(path, 'Indexes: []\ndriver:\n  name: falco\ncustom: {keep: me}\n', { mode: 0o640 });
    await updateConfigFile(path, 'indexes', [{ name: 'a', url: 'https://a/i.yaml', backend: 'https' }]);
    const doc = yaml.load(await readFile(path, 'utf8'));
    expect(doc).toEqual({ Indexes: [{ name: 'a', url: 'https://a/i.yaml', backend: 'https' }], driver: { name: 'falco' }, custom: { keep: 'me' } });
    expect((await stat(path)).mode & 0o777).toBe(0o640);
  });

  it('creates a missing file with nested keys', async () => {
    const path = join(dir, 'sub', 'falcoctl.yaml');
    await updateConfigFile(path, 'registry.auth.gcp', [{ registry: 'europe-docker.pkg.dev' }]);
    const r = await readConfigFile(path);
    expect(r.errors).toEqual([]);
    expect(r.config['registry.auth.gcp']).toEqual([{ registry: 'europe-docker.pkg.dev' }]);
    expect((await stat(join(dir, 'sub'))).mode & 0o777).toBe(0o700);
  });

  it('refuses to rewrite a file that is not YAML', async () => {
    const path = join(dir, 'falcoctl.yaml');
    await writeFile(path, 'a: [\n');
    await expect(updateConfigFile(path, 'indexes', [])).rejects.toMatchObject({ code: 'ERR_INVALID_CONFIG' });
    expect(await readFile(path, 'utf8')).toBe('a: [\n');
  });

  it('says where a YAML mistake is without quoting the file, and keeps no cause that would', async () => {
    const path = join(dir, 'falcoctl.yaml');
    await writeFile(path, 'registry:\n  auth:\n    basic:\n      - registry: ghcr.io\n        user: alice\n          password: ghp_SECRET_IN_YAML\n');
    const err = await updateConfigFile(path, 'indexes', []).then(() => undefined, (e: unknown) => e as Error & { cause?: unknown });
    expect(err?.message).toMatch(/it is not a readable YAML mapping at line \d+, column \d+: /);
    expect(JSON.stringify({ message: err?.message, cause: String((err?.cause as Error | undefined)?.message) })).not.toContain('ghp_SECRET_IN_YAML');
  });
});
