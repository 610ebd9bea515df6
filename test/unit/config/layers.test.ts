import { describe, expect, it } from 'vitest';
import { SETTINGS, defaultOf, envNameFor } from '../../../src/config/definitions.js';
import type { SettingKey } from '../../../src/config/definitions.js';
import { parseConfigText } from '../../../src/config/file.js';
import { resolveSettings } from '../../../src/config/load.js';

/**
 * One representative value per setting and per layer. `file` is YAML text placed under the key,
 * `env` the env var text, `flag` the command-line text; `expect*` the typed values.
 */
interface Sample {
  file: string;
  expectFile: unknown;
  env: string;
  expectEnv: unknown;
  flag?: string;
  expectFlag?: unknown;
}

const dir = (name: string): Sample => ({ file: `/file/${name}`, expectFile: `/file/${name}`, env: `/env/${name}`, expectEnv: `/env/${name}`, flag: `/flag/${name}`, expectFlag: `/flag/${name}` });
const plainDir = (name: string): Sample => ({ file: `/file/${name}`, expectFile: `/file/${name}`, env: `/env/${name}`, expectEnv: `/env/${name}` });

const SAMPLES: Record<SettingKey, Sample> = {
  indexes: {
    file: '[{name: a, url: "https://a/index.yaml", backend: https}]',
    expectFile: [{ name: 'a', url: 'https://a/index.yaml', backend: 'https' }],
    env: 'b,https://b/index.yaml;c,https://c/index.yaml',
    expectEnv: [{ name: 'b', url: 'https://b/index.yaml', backend: '' }, { name: 'c', url: 'https://c/index.yaml', backend: '' }],
  },
  'registry.creds.config': plainDir('creds.json'),
  'registry.auth.basic': {
    file: '[{registry: ghcr.io, user: u, password: p}]',
    expectFile: [{ registry: 'ghcr.io', user: 'u', password: 'p' }],
    env: 'ghcr.io/org/repo:1,u2,p2;quay.io,u3,p3',
    expectEnv: [{ registry: 'ghcr.io', user: 'u2', password: 'p2' }, { registry: 'quay.io', user: 'u3', password: 'p3' }],
  },
  'registry.auth.oauth': {
    file: '[{registry: r, clientID: i, clientSecret: s, tokenURL: "https://t/token"}]',
    expectFile: [{ registry: 'r', clientID: 'i', clientSecret: 's', tokenURL: 'https://t/token' }],
    env: 'r2,i2,s2,https://t2/token',
    expectEnv: [{ registry: 'r2', clientID: 'i2', clientSecret: 's2', tokenURL: 'https://t2/token' }],
  },
  'registry.auth.gcp': {
    file: '[{registry: europe-docker.pkg.dev}]',
    expectFile: [{ registry: 'europe-docker.pkg.dev' }],
    env: 'a.pkg.dev;b.pkg.dev',
    expectEnv: [{ registry: 'a.pkg.dev' }, { registry: 'b.pkg.dev' }],
  },
  'registry.mirrors': {
    file: '{ghcr.io: ["https://m1", "https://m2"]}',
    expectFile: { 'ghcr.io': ['https://m1', 'https://m2'] },
    env: 'ghcr.io=https://m3,https://m4;quay.io=https://m5',
    expectEnv: { 'ghcr.io': ['https://m3', 'https://m4'], 'quay.io': ['https://m5'] },
  },
  'registry.plainHttp': { file: '[localhost:5000]', expectFile: ['localhost:5000'], env: 'a:5000;b:5000', expectEnv: ['a:5000', 'b:5000'] },
  'registry.insecure': { file: '[a.local]', expectFile: ['a.local'], env: 'b.local', expectEnv: ['b.local'] },
  'registry.caFile': plainDir('ca.pem'),
  'artifact.allowedTypes': {
    file: '[rulesfile]', expectFile: ['rulesfile'],
    env: 'rulesfile,plugin', expectEnv: ['rulesfile', 'plugin'],
    flag: 'asset', expectFlag: ['asset'],
  },
  'artifact.noVerify': { file: 'true', expectFile: true, env: 'TRUE', expectEnv: true, flag: 'false', expectFlag: false },
  'artifact.backend': { file: 'oras', expectFile: 'oras', env: 'oras', expectEnv: 'oras' },
  'artifact.install.refs': { file: '[falco-rules:3]', expectFile: ['falco-rules:3'], env: 'a:1;b:2', expectEnv: ['a:1', 'b:2'] },
  'artifact.install.rulesfilesdir': dir('rules'),
  'artifact.install.pluginsdir': dir('plugins'),
  'artifact.install.assetsdir': dir('assets'),
  'artifact.install.statedir': dir('state'),
  'artifact.install.resolveDeps': { file: 'false', expectFile: false, env: '0', expectEnv: false, flag: 'true', expectFlag: true },
  'artifact.follow.refs': { file: '[falco-rules:3]', expectFile: ['falco-rules:3'], env: 'a:1 b:2', expectEnv: ['a:1', 'b:2'] },
  'artifact.follow.every': { file: '6h', expectFile: 6 * 3_600_000, env: '6h0m0s', expectEnv: 6 * 3_600_000, flag: '90s', expectFlag: 90_000 },
  'artifact.follow.cron': { file: '"@daily"', expectFile: '@daily', env: '0 * * * *', expectEnv: '0 * * * *', flag: '@every 1h', expectFlag: '@every 1h' },
  'artifact.follow.startupBehavior': { file: 'skip', expectFile: 'skip', env: 'immediate', expectEnv: 'immediate', flag: 'jitter', expectFlag: 'jitter' },
  'artifact.follow.falcoversions': {
    file: 'http://falco:8765/versions', expectFile: 'http://falco:8765/versions',
    env: 'http://env:8765/versions', expectEnv: 'http://env:8765/versions',
    flag: 'https://flag/versions', expectFlag: 'https://flag/versions',
  },
  'artifact.follow.rulesfilesdir': dir('rules'),
  'artifact.follow.pluginsdir': dir('plugins'),
  'artifact.follow.assetsdir': dir('assets'),
  'artifact.follow.statedir': dir('state'),
  'artifact.follow.tmpdir': dir('tmp'),
  'artifact.follow.listen': { file: '127.0.0.1:9000', expectFile: '127.0.0.1:9000', env: ':9001', expectEnv: ':9001' },
  'artifact.follow.healthurl': { file: 'http://a/healthz', expectFile: 'http://a/healthz', env: 'http://b/healthz', expectEnv: 'http://b/healthz' },
  'artifact.follow.reloadsignal': { file: 'SIGHUP', expectFile: 'SIGHUP', env: 'SIGUSR1', expectEnv: 'SIGUSR1' },
  'artifact.follow.pidfile': plainDir('falco.pid'),
};

/** The YAML document setting one dotted key. */
function yamlFor(key: string, value: string): string {
  const parts = key.split('.');
  return parts.map((p, i) => `${'  '.repeat(i)}${p}:${i === parts.length - 1 ? ` ${value}` : ''}`).join('\n');
}

const keys = Object.keys(SETTINGS) as SettingKey[];

describe('settings table', () => {
  it('has a sample for every setting', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...keys].sort());
  });

  it('derives env names with falcoctl mapping', () => {
    expect(SETTINGS['artifact.follow.every'].env).toBe('FALCOCTL_ARTIFACT_FOLLOW_EVERY');
    expect(SETTINGS['artifact.install.rulesfilesdir'].env).toBe('FALCOCTL_ARTIFACT_INSTALL_RULESFILESDIR');
    expect(SETTINGS['artifact.follow.startupBehavior'].env).toBe('FALCOCTL_ARTIFACT_FOLLOW_STARTUPBEHAVIOR');
    expect(SETTINGS['registry.creds.config'].env).toBe('FALCOCTL_REGISTRY_CREDS_CONFIG');
    expect(envNameFor('a-b.c')).toBe('FALCOCTL_A_B_C');
  });
});

describe.each(keys)('%s', (key) => {
  const def = SETTINGS[key];
  const sample = SAMPLES[key];
  const parsed = parseConfigText(yamlFor(key, sample.file));

  it('parses the file sample', () => {
    expect(parsed.errors).toEqual([]);
    expect(parsed.warnings).toEqual([]);
  });

  it('file only → source file', () => {
    const s = resolveSettings({ env: {}, fileConfig: parsed.config });
    expect(s.sourceOf(key)).toBe('file');
    expect(s.get(key)).toEqual(sample.expectFile);
  });

  it('env overrides file', () => {
    const s = resolveSettings({ env: { [def.env]: sample.env }, fileConfig: parsed.config });
    expect(s.sourceOf(key)).toBe('env');
    expect(s.get(key)).toEqual(sample.expectEnv);
  });

  it('default otherwise; empty env is unset', () => {
    const ctx = { env: {}, home: '/home/u' };
    const s = resolveSettings({ env: { [def.env]: '' }, home: '/home/u' });
    expect(s.sourceOf(key)).toBe('default');
    expect(s.get(key)).toEqual(defaultOf(key, ctx));
  });

  it('accepts any key casing', () => {
    const s = resolveSettings({ env: { [def.env]: sample.env } });
    expect(s.get(key.toUpperCase())).toEqual(sample.expectEnv);
  });
});

const flagKeys = keys.filter((k) => SETTINGS[k].flag !== undefined);

describe.each(flagKeys)('%s flag', (key) => {
  it('flag overrides env and file', () => {
    const sample = SAMPLES[key];
    const fileConfig = parseConfigText(yamlFor(key, sample.file)).config;
    const s = resolveSettings({ flags: { [key]: sample.flag }, env: { [SETTINGS[key].env]: sample.env }, fileConfig });
    expect(s.sourceOf(key)).toBe('flag');
    expect(s.get(key)).toEqual(sample.expectFlag);
  });
});

it('every flag-less falcoctl list key has no flag sample', () => {
  for (const key of keys) {
    if (SETTINGS[key].flag === undefined) expect(SAMPLES[key].flag).toBeUndefined();
    else expect(SAMPLES[key].flag).toBeDefined();
  }
});
