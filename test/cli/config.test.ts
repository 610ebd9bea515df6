/**
 * `rulesctl config`: values and their source through the real CLI. Precedence flag > env > file >
 * default for every setting that has a flag (generated from the settings table), env names as
 * falcoctl's, redaction, and the errors.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { SETTINGS, type SettingDefinition } from '../../src/config/definitions.js';
import { tmpDir } from '../helpers/tmp.js';
import { runCli, spawnCli, testEnv } from './_run.js';

interface Row { key: string; value: unknown; source: string; env: string; flag?: string; error?: string }

/** file, env and flag values for each flag (as text), and the typed value each should give. */
const SAMPLES: Record<string, { file: unknown; env: string; flag: string[]; typed: [unknown, unknown, unknown] }> = {
  '--allowed-types': { file: ['rulesfile'], env: 'plugin', flag: ['--allowed-types', 'rulesfile,plugin'], typed: [['rulesfile'], ['plugin'], ['rulesfile', 'plugin']] },
  '--no-verify': { file: false, env: 'false', flag: ['--no-verify'], typed: [false, false, true] },
  '--rulesfiles-dir': { file: '/file/r', env: '/env/r', flag: ['--rulesfiles-dir', '/flag/r'], typed: ['/file/r', '/env/r', '/flag/r'] },
  '--plugins-dir': { file: '/file/p', env: '/env/p', flag: ['--plugins-dir', '/flag/p'], typed: ['/file/p', '/env/p', '/flag/p'] },
  '--assets-dir': { file: '/file/a', env: '/env/a', flag: ['--assets-dir', '/flag/a'], typed: ['/file/a', '/env/a', '/flag/a'] },
  '--state-dir': { file: '/file/s', env: '/env/s', flag: ['--state-dir', '/flag/s'], typed: ['/file/s', '/env/s', '/flag/s'] },
  '--resolve-deps': { file: false, env: 'true', flag: ['--resolve-deps=false'], typed: [false, true, false] },
  '--every': { file: '2h', env: '1h', flag: ['--every', '30m'], typed: [7_200_000, 3_600_000, 1_800_000] },
  '--cron': { file: '@daily', env: '0 * * * *', flag: ['--cron', '@hourly'], typed: ['@daily', '0 * * * *', '@hourly'] },
  '--startup-behavior': { file: 'skip', env: 'immediate', flag: ['--startup-behavior', 'jitter'], typed: ['skip', 'immediate', 'jitter'] },
  '--falco-versions': { file: 'http://file:1/versions', env: 'http://env:1/versions', flag: ['--falco-versions', 'http://flag:1/versions'], typed: ['http://file:1/versions', 'http://env:1/versions', 'http://flag:1/versions'] },
  '--tmp-dir': { file: '/file/t', env: '/env/t', flag: ['--tmp-dir', '/flag/t'], typed: ['/file/t', '/env/t', '/flag/t'] },
};

const FLAGGED = (Object.values(SETTINGS) as SettingDefinition[]).filter((d) => d.flag !== undefined);

/** `{a: {b: {c: v}}}` for `a.b.c`. */
function nested(key: string, value: unknown): Record<string, unknown> {
  return key.split('.').reverse().reduce<unknown>((v, k) => ({ [k]: v }), value) as Record<string, unknown>;
}

async function rowFor(home: string, def: SettingDefinition, extraEnv: Record<string, string>, flags: string[]): Promise<Row> {
  const r = await runCli(['config', def.key, '-o', 'json', ...flags], { env: testEnv(home, extraEnv) });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const rows = JSON.parse(r.stdout) as Row[];
  expect(rows.map((x) => x.key)).toEqual([def.key]);
  return rows[0]!;
}

describe('rulesctl config: precedence for every setting with a flag (generated from the table)', () => {
  it('has a sample for every flag in the settings table', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...new Set(FLAGGED.map((d) => d.flag!.name))].sort());
  });

  for (const def of FLAGGED) {
    it(`${def.key}: default < file < ${def.env} < ${def.flag!.name}`, async () => {
      const s = SAMPLES[def.flag!.name]!;
      const home = tmpDir('config-layers');
      expect((await rowFor(home, def, {}, [])).source).toBe('default');
      writeFileSync(join(home, 'falcoctl.yaml'), yaml.dump(nested(def.key, s.file)));
      expect(await rowFor(home, def, {}, [])).toMatchObject({ source: 'file', value: s.typed[0] });
      expect(await rowFor(home, def, { [def.env]: s.env }, [])).toMatchObject({ source: 'env', value: s.typed[1], env: def.env });
      expect(await rowFor(home, def, { [def.env]: s.env }, s.flag)).toMatchObject({ source: 'flag', value: s.typed[2], flag: def.flag!.name });
    });
  }
});

describe('rulesctl config (spawned)', () => {
  it('shows FALCOCTL_ARTIFACT_FOLLOW_EVERY over the file and --every over both, with the source', async () => {
    const home = tmpDir('config-every');
    writeFileSync(join(home, 'falcoctl.yaml'), 'artifact:\n  follow:\n    every: 6h\n');
    const line = (out: string) => out.split('\n').find((l) => l.startsWith('artifact.follow.every'))!.split(/\s{2,}/);
    const file = await spawnCli(['config', 'artifact.follow.every'], { env: testEnv(home) });
    expect(file.code).toBe(0);
    expect(line(file.stdout)).toEqual(['artifact.follow.every', '6h0m0s', 'file']);
    const env = await spawnCli(['config', 'artifact.follow.every'], { env: testEnv(home, { FALCOCTL_ARTIFACT_FOLLOW_EVERY: '1h30m' }) });
    expect(line(env.stdout)).toEqual(['artifact.follow.every', '1h30m0s', 'env FALCOCTL_ARTIFACT_FOLLOW_EVERY']);
    const flag = await spawnCli(['config', 'artifact.follow.every', '--every', '45s'], { env: testEnv(home, { FALCOCTL_ARTIFACT_FOLLOW_EVERY: '1h30m' }) });
    expect(line(flag.stdout)).toEqual(['artifact.follow.every', '45s', 'flag --every']);
    // --config on the command line beats RULESCTL_CONFIG.
    const other = join(home, 'other.yaml');
    writeFileSync(other, 'artifact:\n  follow:\n    every: 3h\n');
    const viaFlag = await spawnCli(['--config', other, 'config', 'artifact.follow.every'], { env: testEnv(home) });
    expect(line(viaFlag.stdout)).toEqual(['artifact.follow.every', '3h0m0s', 'file']);
  });

  it('lists every setting by default, JSON rows with key, value, source and env var', async () => {
    const home = tmpDir('config-all');
    const r = await spawnCli(['config', '--output', 'json'], { env: testEnv(home) });
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.map((x) => x.key)).toEqual(Object.keys(SETTINGS));
    expect(rows.find((x) => x.key === 'registry.creds.config')).toMatchObject({ value: join(home, '.docker', 'config.json'), source: 'default', env: 'FALCOCTL_REGISTRY_CREDS_CONFIG' });
  });

  it('redacts passwords and client secrets from file and env, in text and JSON', async () => {
    const home = tmpDir('config-redact');
    writeFileSync(join(home, 'falcoctl.yaml'), yaml.dump({ registry: { auth: { oauth: [{ registry: 'r', clientID: 'id', clientSecret: 'cl1ent-SECRET', tokenURL: 'https://t/token' }] } } }));
    const env = testEnv(home, { FALCOCTL_REGISTRY_AUTH_BASIC: 'ghcr.io,bob,pa55-SECRET' });
    for (const out of ['text', 'json']) {
      const r = await spawnCli(['config', '-o', out], { env });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('<redacted>');
      expect(r.stdout).toContain('bob');
      expect(r.stdout + r.stderr).not.toMatch(/pa55-SECRET|cl1ent-SECRET/);
    }
  });

  it('a bad env value: the table is printed with the error, exit 1, and the secret is not echoed', async () => {
    const home = tmpDir('config-bad');
    const r = await spawnCli(['config', 'artifact.follow.every', 'registry.auth.basic'], {
      env: testEnv(home, { FALCOCTL_ARTIFACT_FOLLOW_EVERY: 'weekly', FALCOCTL_REGISTRY_AUTH_BASIC: 'ghcr.io,bob;pa55-SECRET' }),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('error: FALCOCTL_ARTIFACT_FOLLOW_EVERY: expected a duration like "6h", got "weekly"');
    expect(r.stderr).toContain('Error: invalid settings:');
    expect(r.stdout + r.stderr).not.toContain('pa55-SECRET');
  });

  it('unknown key: usage error (exit 2); unknown file key: a warning; invalid file: exit 1 with the dotted key', async () => {
    const home = tmpDir('config-errors');
    const unknown = await spawnCli(['config', 'artifact.follow.sometimes'], { env: testEnv(home) });
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain('Error: unknown setting "artifact.follow.sometimes"');
    writeFileSync(join(home, 'falcoctl.yaml'), 'artifact:\n  follow:\n    evry: 6h\n');
    const warn = await spawnCli(['config', 'artifact.follow.every'], { env: testEnv(home) });
    expect(warn.code).toBe(0);
    expect(warn.stderr).toContain('artifact.follow.evry: unknown key, ignored');
    writeFileSync(join(home, 'falcoctl.yaml'), 'artifact:\n  follow:\n    every: sometimes\n');
    const bad = await spawnCli(['config'], { env: testEnv(home) });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('artifact.follow.every: expected a duration like "6h", got "sometimes"');
  });
});

describe('colour in logs (in-process, the runtime decision through main)', () => {
  it('colours the WARN label only on a TTY and never with NO_COLOR or --log-format text', async () => {
    const home = tmpDir('config-colour');
    writeFileSync(join(home, 'falcoctl.yaml'), 'artifact:\n  follow:\n    evry: 6h\n');
    const argv = ['config', 'artifact.follow.every'];
    const tty = await runCli(argv, { env: testEnv(home), tty: true });
    expect(tty.stderr).toContain('\x1b[33mWARN \x1b[0m');
    for (const r of [
      await runCli(argv, { env: testEnv(home, { NO_COLOR: '1' }), tty: true }),
      await runCli(['--log-format', 'text', ...argv], { env: testEnv(home), tty: true }),
      await runCli(argv, { env: testEnv(home) }),
    ]) {
      expect(r.stderr).toContain('WARN ');
      expect(r.stderr + r.stdout).not.toContain('\x1b[');
    }
    // Results on stdout are never coloured, TTY or not.
    expect(tty.stdout).not.toContain('\x1b[');
  });
});
