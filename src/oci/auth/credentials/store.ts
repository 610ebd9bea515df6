import { writeFileAtomic } from '../../../util/atomic-write.js';
import { entryFor, helperFor, lookupAuths, readDockerConfig } from './docker-config.js';
import type { DockerAuthEntry, DockerConfig } from './docker-config.js';
import { helperErase, helperGet, helperStore, runHelper as defaultRunner } from './helpers.js';
import type { HelperRunner } from './helpers.js';
import { hasNamespace, hostKey, storageKey } from './registry-key.js';
import type { Credential } from '../types.js';
import type { Env } from './paths.js';

export { defaultDockerConfigPath, type Env } from './paths.js';


export interface CredentialFileOptions {
  /** For credential helpers: their PATH and environment. */
  env: Env;
  runHelper?: HelperRunner;
  helperTimeoutMs?: number;
}

/** falcoctl's credential file (`registry.creds.config`): docker config.json read/login/logout. */
export interface CredentialFile {
  readonly path: string;
  get(registry: string, opts?: { signal?: AbortSignal }): Promise<Credential | undefined>;
  login(registry: string, cred: Credential, opts?: { signal?: AbortSignal }): Promise<void>;
  /** True when something was removed. */
  logout(registry: string, opts?: { signal?: AbortSignal }): Promise<boolean>;
}

/**
 * Opens the credential file at `path` (spec §12). `credsStore`/`credHelpers[R]` route to
 * `docker-credential-<x>` (server URL = the registry, Docker Hub as `https://index.docker.io/v1/`);
 * otherwise logins write `auths[R]` (basic as `auth`, identity tokens as `identitytoken`, bearer
 * as `registrytoken`), replacing any alias key for the same host. Writes are tab-indented JSON,
 * atomic (temp + rename), file 0600, dir 0700 (a looser existing dir is tightened), keeping
 * every other key. Errors name the file and registry, never a secret.
 */
export function openCredentialFile(path: string, options: CredentialFileOptions): CredentialFile {
  const run = options.runHelper ?? defaultRunner;
  const helperOpts = (signal?: AbortSignal) => ({ env: options.env, signal, timeoutMs: options.helperTimeoutMs });
  return {
    path,
    async get(registry, opts = {}) {
      const config = await readDockerConfig(path, opts);
      if (config === undefined) return undefined;
      const helper = helperFor(config, registry);
      if (helper !== undefined) return helperGet(run, helper, storageKey(registry), helperOpts(opts.signal));
      return lookupAuths(config, registry, path);
    },
    async login(registry, cred, opts = {}) {
      const config = (await readDockerConfig(path, opts)) ?? {};
      const helper = helperFor(config, registry);
      if (helper !== undefined) return helperStore(run, helper, storageKey(registry), cred, helperOpts(opts.signal));
      const auths = withoutHost(config.auths, registry);
      auths[storageKey(registry)] = entryFor(cred);
      await writeConfig(path, { ...config, auths }, opts.signal);
    },
    async logout(registry, opts = {}) {
      const config = await readDockerConfig(path, opts);
      if (config === undefined) return false;
      const helper = helperFor(config, registry);
      if (helper !== undefined) return helperErase(run, helper, storageKey(registry), helperOpts(opts.signal));
      const auths = withoutHost(config.auths, registry);
      if (Object.keys(auths).length === Object.keys(config.auths ?? {}).length) return false;
      await writeConfig(path, { ...config, auths }, opts.signal);
      return true;
    },
  };
}

function withoutHost(auths: Record<string, DockerAuthEntry> | undefined, registry: string): Record<string, DockerAuthEntry> {
  const want = hostKey(registry);
  return Object.fromEntries(Object.entries(auths ?? {}).filter(([k]) => hostKey(k) !== want || hasNamespace(k)));
}

/** Go's encoder: map keys sorted, tab indent, trailing newline. */
async function writeConfig(path: string, config: DockerConfig, signal?: AbortSignal): Promise<void> {
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (sorted.auths) sorted.auths = Object.fromEntries(Object.entries(sorted.auths as object).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await writeFileAtomic(path, `${JSON.stringify(sorted, null, '\t')}\n`, { mode: 0o600, dirMode: 0o700, tightenDir: true, ...(signal ? { signal } : {}) });
}
