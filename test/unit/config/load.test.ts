import { describe, expect, it } from 'vitest';
import { formatGoDuration, parseGoDuration } from '../../../src/config/duration.js';
import { flagsOf } from '../../../src/config/definitions.js';
import { parseConfigText } from '../../../src/config/file.js';
import { resolveSettings } from '../../../src/config/load.js';
import { renderSettings } from '../../../src/config/render.js';

const SEMI = '^([^;]+)(;[^;]+)*$';
const COMMA = '^([^,]+)(,[^,]+)*$';
const envError = (re: string, got: string): string => `env variable not correctly set, should match "${re}", got "${got}"`;

describe('env list formats', () => {
  it.each([
    ['artifact.install.refs', 'FALCOCTL_ARTIFACT_INSTALL_REFS', 'a;;b', envError(SEMI, 'a;;b')],
    ['artifact.follow.refs', 'FALCOCTL_ARTIFACT_FOLLOW_REFS', 'a;', envError(SEMI, 'a;')],
    ['indexes', 'FALCOCTL_INDEXES', 'a,https://a;', envError(SEMI, 'a,https://a;')],
    ['indexes', 'FALCOCTL_INDEXES', 'a,,https://a', envError(COMMA, 'a,,https://a')],
    ['indexes', 'FALCOCTL_INDEXES', 'a,https://a,https', 'not valid token "a,https://a,https"'],
    ['registry.auth.gcp', 'FALCOCTL_REGISTRY_AUTH_GCP', ';r', envError(SEMI, ';r')],
    ['artifact.allowedTypes', 'FALCOCTL_ARTIFACT_ALLOWEDTYPES', 'rulesfile,', envError(COMMA, 'rulesfile,')],
  ])('%s from %s=%j fails with falcoctl wording', (key, env, value, message) => {
    const s = resolveSettings({ env: { [env]: value } });
    expect(s.errors).toEqual([message]);
    expect(() => s.get(key)).toThrow(message);
    expect(s.sourceOf(key)).toBe('env');
  });

  it.each([
    ['FALCOCTL_REGISTRY_AUTH_BASIC', 'registry.auth.basic', 'ghcr.io,alice,pw-SECRET-1;quay.io,bob'],
    ['FALCOCTL_REGISTRY_AUTH_BASIC', 'registry.auth.basic', 'ghcr.io,alice,pw-SECRET-1;'],
    ['FALCOCTL_REGISTRY_AUTH_BASIC', 'registry.auth.basic', 'ghcr.io,alice,,pw-SECRET-1'],
    ['FALCOCTL_REGISTRY_AUTH_OAUTH', 'registry.auth.oauth', 'ghcr.io,id,pw-SECRET-1'],
  ])('%s errors never echo the secret (%#)', (env, key, value) => {
    const s = resolveSettings({ env: { [env]: value } });
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).not.toContain('pw-SECRET-1');
    expect(s.errors[0]).toMatch(/<redacted>/);
    expect(() => s.get(key)).toThrow(/<redacted>/);
  });

  it('cuts a basic-auth ref to its registry and keeps several entries', () => {
    const s = resolveSettings({ env: { FALCOCTL_REGISTRY_AUTH_BASIC: 'ghcr.io/a/b:1,u,p;localhost:5000,v,q' } });
    expect(s.get('registry.auth.basic')).toEqual([
      { registry: 'ghcr.io', user: 'u', password: 'p' },
      { registry: 'localhost:5000', user: 'v', password: 'q' },
    ]);
  });

  it('prefixes non-list env problems with the variable name', () => {
    const s = resolveSettings({ env: { FALCOCTL_ARTIFACT_FOLLOW_EVERY: 'weekly' } });
    expect(() => s.get('artifact.follow.every')).toThrow('FALCOCTL_ARTIFACT_FOLLOW_EVERY: expected a duration like "6h", got "weekly"');
  });

  it('reports a bad flag by its name', () => {
    const s = resolveSettings({ env: {}, flags: { 'artifact.follow.startupBehavior': 'later' } });
    expect(() => s.get('artifact.follow.startupBehavior')).toThrow('--startup-behavior: expected one of (skip, jitter, immediate), got "later"');
  });
});

describe('resolveSettings', () => {
  it('reads install assets dir from the follow key when its own is unset (falcoctl quirk kept working)', () => {
    const file = parseConfigText('artifact:\n  follow:\n    assetsdir: /follow-assets\n').config;
    const s = resolveSettings({ env: {}, fileConfig: file });
    expect(s.get('artifact.install.assetsdir')).toBe('/follow-assets');
    expect(s.all().find((r) => r.key === 'artifact.install.assetsdir')).toMatchObject({ source: 'file', via: 'artifact.follow.assetsdir' });
    const own = resolveSettings({ env: { FALCOCTL_ARTIFACT_INSTALL_ASSETSDIR: '/own' }, fileConfig: file });
    expect(own.get('artifact.install.assetsdir')).toBe('/own');
  });

  it('derives the credential file default from DOCKER_CONFIG, else home', () => {
    expect(resolveSettings({ env: {}, home: '/home/u' }).get('registry.creds.config')).toBe('/home/u/.docker/config.json');
    expect(resolveSettings({ env: { DOCKER_CONFIG: '/d/' }, home: '/home/u' }).get('registry.creds.config')).toBe('/d/config.json');
  });

  it('limits resolution to the requested keys, so an unrelated bad env var does not fail', () => {
    const s = resolveSettings({ env: { FALCOCTL_INDEXES: ';' }, keys: ['artifact.follow.every'] });
    expect(s.errors).toEqual([]);
    expect(s.get('artifact.follow.every')).toBe(168 * 3_600_000);
    expect(() => s.get('indexes')).toThrow('not resolved');
  });

  it('takes typed flag values as given and maps flags per command', () => {
    const s = resolveSettings({ env: {}, flags: { 'artifact.noVerify': true, 'artifact.allowedTypes': ['rulesfile', 'plugin,asset'] } });
    expect(s.get('artifact.noVerify')).toBe(true);
    expect(s.get('artifact.allowedTypes')).toEqual(['rulesfile', 'plugin', 'asset']);
    expect(flagsOf('artifact install').get('--rulesfiles-dir')).toBe('artifact.install.rulesfilesdir');
    expect(flagsOf('artifact follow').get('--rulesfiles-dir')).toBe('artifact.follow.rulesfilesdir');
    expect(flagsOf('artifact follow').get('--resolve-deps')).toBeUndefined();
  });
});

describe('renderSettings', () => {
  const settings = resolveSettings({
    env: { FALCOCTL_REGISTRY_AUTH_BASIC: 'ghcr.io,alice,TOPSECRET', FALCOCTL_ARTIFACT_FOLLOW_EVERY: '6h' },
    fileConfig: parseConfigText('registry:\n  auth:\n    oauth: [{registry: r, clientID: i, clientSecret: OAUTHSECRET, tokenURL: "https://t"}]\n').config,
    flags: { 'artifact.follow.cron': '@daily' },
    home: '/home/u',
  });

  it('renders text with provenance and redacts secrets', () => {
    const text = renderSettings(settings, 'text');
    expect(text).not.toContain('TOPSECRET');
    expect(text).not.toContain('OAUTHSECRET');
    expect(text).toMatch(/^artifact\.follow\.every +6h0m0s +env FALCOCTL_ARTIFACT_FOLLOW_EVERY$/m);
    expect(text).toMatch(/^artifact\.follow\.cron +@daily +flag --cron$/m);
    expect(text).toMatch(/^registry\.auth\.oauth +.*"clientSecret":"<redacted>".* +file$/m);
    expect(text).toMatch(/^artifact\.backend \* +native +default$/m);
    expect(text.split('\n')[0]).toMatch(/^KEY +VALUE +SOURCE$/);
  });

  it('shows index URLs without their userinfo or token query', () => {
    const s = resolveSettings({ env: { FALCOCTL_INDEXES: 'mine,https://bot:PASSW0RD@raw.example.com/i.yaml?token=GHTOKEN' }, home: '/home/u' });
    const text = renderSettings(s, 'text');
    expect(text).toMatch(/^indexes +mine=https:\/\/\*\*\*@raw\.example\.com\/i\.yaml\?token=\*\*\* +env FALCOCTL_INDEXES$/m);
    expect(text).not.toMatch(/PASSW0RD|GHTOKEN/);
    expect(renderSettings(s, 'json')).not.toMatch(/PASSW0RD|GHTOKEN/);
  });

  it('renders JSON rows with redacted secrets', () => {
    const rows = JSON.parse(renderSettings(settings, 'json')) as { key: string; value: unknown; source: string }[];
    expect(rows.find((r) => r.key === 'registry.auth.basic')).toMatchObject({
      source: 'env',
      value: [{ registry: 'ghcr.io', user: 'alice', password: '<redacted>' }],
    });
    expect(JSON.stringify(rows)).not.toMatch(/TOPSECRET|OAUTHSECRET/);
    expect(settings.get('registry.auth.basic')).toEqual([{ registry: 'ghcr.io', user: 'alice', password: 'TOPSECRET' }]);
  });
});

describe('Go durations', () => {
  it.each([
    ['168h', 604_800_000],
    ['6h0m0s', 21_600_000],
    ['90s', 90_000],
    ['1.5h', 5_400_000],
    ['1h30m', 5_400_000],
    ['300ms', 300],
    ['0', 0],
  ])('%s = %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });
  it.each(['', '6', 'h', '6d', '1h 2m', 'abc'])('%j is not a duration', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
  it('formats like Go', () => {
    expect(formatGoDuration(604_800_000)).toBe('168h0m0s');
    expect(formatGoDuration(90_000)).toBe('1m30s');
    expect(formatGoDuration(0)).toBe('0s');
    expect(formatGoDuration(1500)).toBe('1.5s');
  });
});

describe('followScheduleConflict', () => {
  it('fails when every and cron are both set from any layer, as falcoctl', async () => {
    const { followScheduleConflict } = await import('../../../src/config/checks.js');
    const keys = ['artifact.follow.every', 'artifact.follow.cron'];
    const file = parseConfigText('artifact:\n  follow:\n    every: 6h\n').config;
    expect(followScheduleConflict(resolveSettings({ env: {}, fileConfig: file, keys }))).toBeUndefined();
    expect(followScheduleConflict(resolveSettings({ env: {}, flags: { 'artifact.follow.cron': '@daily' }, keys }))).toBeUndefined();
    expect(followScheduleConflict(resolveSettings({ env: { FALCOCTL_ARTIFACT_FOLLOW_CRON: '@daily' }, fileConfig: file, keys }))).toBe(
      'if any flags in the group [cron every] are set none of the others can be; [cron every] were all set',
    );
  });
});
