import { defaultDockerConfigPath } from '../oci/auth/credentials/paths.js';
import { redactUrl } from '../oci/auth/redact.js';
import { formatGoDuration } from './duration.js';
import { COMMA_LIST, SEMICOLON_LIST, boolean, duration, httpUrl, oneOf, path, string, stringList } from './parsers.js';
import type { Parser } from './parsers.js';
import { allowedTypes, basicAuths, gcpAuths, indexes, mirrors, oauthAuths } from './record-parsers.js';
import type { ArtifactType, BasicAuthSetting, IndexSetting, OAuthSetting } from './record-parsers.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** What a default may depend on: injected, never read from the process. */
export interface DefaultContext {
  env: Env;
  home: string;
}

/** The commands whose flag feeds a setting (falcoctl's pre-run copies, spec §6/§10). */
export type FlagCommand = 'artifact install' | 'artifact follow';

/**
 * One setting rulesctl reads: its falcoctl.yaml key, CLI flag, env var, default and parser.
 * https://github.com/falcosecurity/falcoctl/blob/main/internal/config/config.go (spec §10)
 */
export interface SettingDefinition<T = unknown> {
  /** The key as falcoctl spells it; lookups are case-insensitive, as in viper. */
  key: string;
  /** Env var: `FALCOCTL_` + key upper-cased with `.`/`-` → `_` (viper's mapping). */
  env: string;
  /** The flag whose explicit value wins over env/file, and the commands that have it. */
  flag?: { name: string; commands: readonly FlagCommand[] };
  default: T | ((ctx: DefaultContext) => T);
  parse: Parser<T>;
  description: string;
  /** Not a falcoctl key: only rulesctl reads it. */
  rulesctlOnly?: boolean;
  /** Replaces secret parts for display (`<redacted>`). */
  redact?: (value: T) => T;
  format?: (value: T) => string;
  /**
   * Read this key's env/file value when this one has none. Used for install's assets dir:
   * falcoctl feeds `--assets-dir` from `artifact.follow.assetsdir` (a source bug); rulesctl reads
   * `artifact.install.assetsdir` first and falls back to the follow key so such configs still work.
   */
  fallbackKey?: string;
}

/** viper's env mapping: `artifact.follow.every` → `FALCOCTL_ARTIFACT_FOLLOW_EVERY`. */
export function envNameFor(key: string): string {
  return `FALCOCTL_${key.toUpperCase().replace(/[.-]/g, '_')}`;
}

function setting<T>(d: Omit<SettingDefinition<T>, 'env'>): SettingDefinition<T> {
  return { ...d, env: envNameFor(d.key) };
}

const REDACTED = '<redacted>';
const INSTALL: readonly FlagCommand[] = ['artifact install'];
const FOLLOW: readonly FlagCommand[] = ['artifact follow'];
const BOTH: readonly FlagCommand[] = ['artifact install', 'artifact follow'];
const refs = stringList(SEMICOLON_LIST, ';', 'ref');
const hosts = stringList(SEMICOLON_LIST, ';', 'host');
const fmtDuration = (ms: number): string => formatGoDuration(ms);

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (oras-go credentials config.Dir). */
export function defaultCredsConfigPath(ctx: DefaultContext): string {
  return defaultDockerConfigPath(ctx.env, ctx.home);
}

export const DEFAULT_INDEX: IndexSetting = {
  name: 'falcosecurity',
  url: 'https://falcosecurity.github.io/falcoctl/index.yaml',
  backend: 'https',
};

/** Every setting, keyed by falcoctl's spelling. Order is display order. */
export const SETTINGS = {
  indexes: setting<IndexSetting[]>({
    key: 'indexes', default: [DEFAULT_INDEX], parse: indexes,
    description: 'Indexes to search and resolve names in; env form `name,url;…` (no backend).',
    format: (v) => v.map((i) => `${i.name}=${i.url}`).join(', '),
    // An index URL can carry a token (`?token=`, `user:pass@`): shown redacted, as every URL we print.
    redact: (v) => v.map((i) => ({ ...i, url: redactUrl(i.url) })),
  }),
  'registry.creds.config': setting<string>({
    key: 'registry.creds.config', default: defaultCredsConfigPath, parse: path,
    description: 'Credential file (docker config.json format) that logins write to and lookups read.',
  }),
  'registry.auth.basic': setting<BasicAuthSetting[]>({
    key: 'registry.auth.basic', default: [], parse: basicAuths,
    description: 'Basic credentials per registry; env form `registry,user,password;…`.',
    redact: (v) => v.map((a) => ({ ...a, password: REDACTED })),
  }),
  'registry.auth.oauth': setting<OAuthSetting[]>({
    key: 'registry.auth.oauth', default: [], parse: oauthAuths,
    description: 'OAuth2 client credentials per registry; env form `registry,clientID,clientSecret,tokenURL;…`.',
    redact: (v) => v.map((a) => ({ ...a, clientSecret: REDACTED })),
  }),
  'registry.auth.gcp': setting({
    key: 'registry.auth.gcp', default: [], parse: gcpAuths,
    description: 'Registries that use Google application-default credentials; env form `reg1;reg2`.',
    format: (v) => v.map((g) => g.registry).join(', '),
  }),
  'registry.mirrors': setting<Record<string, string[]>>({
    key: 'registry.mirrors', default: {}, parse: mirrors, rulesctlOnly: true,
    description: 'Mirrors tried before a registry: {registry: [URL, …]}; env form `registry=url1,url2;…`.',
  }),
  'registry.plainHttp': setting<string[]>({
    key: 'registry.plainHttp', default: [], parse: hosts, rulesctlOnly: true,
    description: 'Registry hosts spoken to over plain HTTP without `--plain-http`; env form `host1;host2`.',
  }),
  'registry.insecure': setting<string[]>({
    key: 'registry.insecure', default: [], parse: hosts, rulesctlOnly: true,
    description: 'Registry hosts whose TLS certificate is not verified; env form `host1;host2`.',
  }),
  'registry.caFile': setting<string>({
    key: 'registry.caFile', default: '', parse: string, rulesctlOnly: true,
    description: 'PEM file with extra CA certificates trusted for registries and indexes.',
  }),
  'artifact.allowedTypes': setting<ArtifactType[]>({
    key: 'artifact.allowedTypes', flag: { name: '--allowed-types', commands: BOTH }, default: [], parse: allowedTypes,
    description: 'Artifact types install/follow may write (rulesfile, plugin, asset); empty allows all; env form `rulesfile,plugin`.',
  }),
  'artifact.noVerify': setting<boolean>({
    key: 'artifact.noVerify', flag: { name: '--no-verify', commands: BOTH }, default: false, parse: boolean,
    description: 'Skip signature verification (install and follow).',
  }),
  'artifact.backend': setting({
    key: 'artifact.backend', default: 'native', parse: oneOf(['native', 'oras']), rulesctlOnly: true,
    description: 'OCI client: the built-in one, or the `oras` executable.',
  }),
  'artifact.install.refs': setting<string[]>({
    key: 'artifact.install.refs', default: [], parse: refs,
    description: 'Artifacts to install when no ref is given on the command line; env form `ref1;ref2`.',
  }),
  'artifact.install.rulesfilesdir': setting<string>({
    key: 'artifact.install.rulesfilesdir', flag: { name: '--rulesfiles-dir', commands: INSTALL }, default: '/etc/falco', parse: path,
    description: 'Where install puts rules files.',
  }),
  'artifact.install.pluginsdir': setting<string>({
    key: 'artifact.install.pluginsdir', flag: { name: '--plugins-dir', commands: INSTALL }, default: '/usr/share/falco/plugins', parse: path,
    description: 'Where install puts plugins.',
  }),
  'artifact.install.assetsdir': setting<string>({
    key: 'artifact.install.assetsdir', flag: { name: '--assets-dir', commands: INSTALL }, default: '/etc/falco/assets', parse: path,
    fallbackKey: 'artifact.follow.assetsdir',
    description: 'Where install puts assets. falcoctl never reads this key (it uses artifact.follow.assetsdir); rulesctl reads it, then that one.',
  }),
  'artifact.install.statedir': setting<string>({
    key: 'artifact.install.statedir', flag: { name: '--state-dir', commands: INSTALL }, default: '/var/lib/falcoctl', parse: path,
    description: 'Where install records installed digests (shared with follow).',
  }),
  'artifact.install.resolveDeps': setting<boolean>({
    key: 'artifact.install.resolveDeps', flag: { name: '--resolve-deps', commands: INSTALL }, default: true, parse: boolean,
    description: 'Install dependencies of the requested artifacts.',
  }),
  'artifact.follow.refs': setting<string[]>({
    key: 'artifact.follow.refs', default: [], parse: refs,
    description: 'Artifacts to follow when no ref is given on the command line; env form `ref1;ref2`.',
  }),
  'artifact.follow.every': setting<number>({
    key: 'artifact.follow.every', flag: { name: '--every', commands: FOLLOW }, default: 168 * 3_600_000, parse: duration, format: fmtDuration,
    description: 'Interval between checks for a new version (Go duration: 168h, 6h0m0s, 90s).',
  }),
  'artifact.follow.cron': setting<string>({
    key: 'artifact.follow.cron', flag: { name: '--cron', commands: FOLLOW }, default: '', parse: string,
    description: 'Cron schedule for checks (5 fields, @daily, @every 1h); excludes `every` when both are set.',
  }),
  'artifact.follow.startupBehavior': setting({
    key: 'artifact.follow.startupBehavior', flag: { name: '--startup-behavior', commands: FOLLOW }, default: 'jitter',
    parse: oneOf(['skip', 'jitter', 'immediate']),
    description: 'First check: at once (immediate), at the first scheduled time (skip), or after a random delay (jitter).',
  }),
  'artifact.follow.falcoversions': setting<string>({
    key: 'artifact.follow.falcoversions', flag: { name: '--falco-versions', commands: FOLLOW }, default: 'http://localhost:8765/versions', parse: httpUrl,
    description: "Falco's /versions endpoint, read once at start to check requirements.",
  }),
  'artifact.follow.rulesfilesdir': setting<string>({
    key: 'artifact.follow.rulesfilesdir', flag: { name: '--rulesfiles-dir', commands: FOLLOW }, default: '/etc/falco', parse: path,
    description: 'Where follow puts rules files.',
  }),
  'artifact.follow.pluginsdir': setting<string>({
    key: 'artifact.follow.pluginsdir', flag: { name: '--plugins-dir', commands: FOLLOW }, default: '/usr/share/falco/plugins', parse: path,
    description: 'Where follow puts plugins.',
  }),
  'artifact.follow.assetsdir': setting<string>({
    key: 'artifact.follow.assetsdir', flag: { name: '--assets-dir', commands: FOLLOW }, default: '/etc/falco/assets', parse: path,
    description: 'Where follow puts assets.',
  }),
  'artifact.follow.statedir': setting<string>({
    key: 'artifact.follow.statedir', flag: { name: '--state-dir', commands: FOLLOW }, default: '/var/lib/falcoctl', parse: path,
    description: 'Where follow reads and records installed digests (shared with install).',
  }),
  'artifact.follow.tmpdir': setting<string>({
    key: 'artifact.follow.tmpdir', flag: { name: '--tmp-dir', commands: FOLLOW }, default: '', parse: string,
    description: "Staging directory for downloads; empty means the OS temp dir.",
  }),
  'artifact.follow.listen': setting<string>({
    key: 'artifact.follow.listen', default: '', parse: string, rulesctlOnly: true,
    description: 'host:port serving /healthz and /metrics for follow; empty disables it.',
  }),
  'artifact.follow.healthurl': setting<string>({
    key: 'artifact.follow.healthurl', default: '', parse: httpUrl, rulesctlOnly: true,
    description: "Falco's /healthz URL, checked after an update; empty skips the check.",
  }),
  'artifact.follow.reloadsignal': setting({
    key: 'artifact.follow.reloadsignal', default: '', parse: oneOf(['', 'SIGHUP', 'SIGUSR1', 'SIGUSR2']), rulesctlOnly: true,
    description: 'Signal sent to Falco after an update (Falco also reloads on file changes); empty sends none.',
  }),
  'artifact.follow.pidfile': setting<string>({
    key: 'artifact.follow.pidfile', default: '', parse: string, rulesctlOnly: true,
    description: "File holding Falco's pid, for reloadsignal.",
  }),
} as const;

export type SettingKey = keyof typeof SETTINGS;
export type SettingValue<K extends SettingKey> = (typeof SETTINGS)[K] extends SettingDefinition<infer T> ? T : never;
export type SettingValues = { [K in SettingKey]: SettingValue<K> };

const BY_LOWER = new Map<string, SettingKey>(Object.keys(SETTINGS).map((k) => [k.toLowerCase(), k as SettingKey]));

/** The canonical key for any casing (`artifact.follow.rulesFilesDir` → `…rulesfilesdir`). */
export function canonicalKey(key: string): SettingKey | undefined {
  return BY_LOWER.get(key.toLowerCase());
}

export function definitionOf<K extends SettingKey>(key: K): SettingDefinition<SettingValue<K>> {
  return SETTINGS[key] as unknown as SettingDefinition<SettingValue<K>>;
}

export function defaultOf<K extends SettingKey>(key: K, ctx: DefaultContext): SettingValue<K> {
  const d = definitionOf(key).default;
  return typeof d === 'function' ? (d as (c: DefaultContext) => SettingValue<K>)(ctx) : d;
}

/** Settings whose flag exists on a command, keyed by flag name (`--every` → key). */
export function flagsOf(command: FlagCommand): Map<string, SettingKey> {
  const out = new Map<string, SettingKey>();
  for (const [key, def] of Object.entries(SETTINGS) as [SettingKey, SettingDefinition][]) {
    if (def.flag?.commands.includes(command)) out.set(def.flag.name, key);
  }
  return out;
}

export { COMMA_LIST, SEMICOLON_LIST };
