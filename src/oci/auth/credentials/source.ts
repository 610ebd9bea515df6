import type { Logger } from '../../../log.js';
import { nullLogger } from '../../../log.js';
import type { Credential, CredentialSource } from '../types.js';
import type { HelperRunner } from './helpers.js';
import { clientCredentialsFor, defaultClientCredentialsPath, readClientCredentials } from './oauth.js';
import { createClientCredentialsTokenSource } from './oauth-token.js';
import type { FetchLike } from './oauth-token.js';
import { lookupPodman, podmanAuthPaths } from './podman.js';
import { findByHost, hostKey } from './registry-key.js';
import { defaultDockerConfigPath, openCredentialFile } from './store.js';
import { fetchVia } from '../../../util/undici.js';
import type { Env } from './store.js';

/** `registry.auth.basic` entries (config/record-parsers `BasicAuthSetting`). */
export interface ConfigBasicAuth { registry: string; user: string; password: string }
/** `registry.auth.oauth` entries (config/record-parsers `OAuthSetting`). */
export interface ConfigOAuth { registry: string; clientID: string; clientSecret: string; tokenURL: string }

export interface CredentialSourceOptions {
  /** Credentials given on the command line, by registry host. */
  explicit?: Readonly<Record<string, Credential>>;
  /** `registry.auth.basic`/`registry.auth.oauth` from settings (flag/env/file resolved). */
  configAuth?: { basic?: readonly ConfigBasicAuth[]; oauth?: readonly ConfigOAuth[] };
  /** `registry.creds.config`; default the docker config path. */
  credsConfigPath?: string;
  /** Default `$DOCKER_CONFIG/config.json`, else `<home>/.docker/config.json`. */
  dockerConfigPath?: string;
  /** Default {@link podmanAuthPaths}; `[]` disables podman lookups. */
  podmanAuthPaths?: readonly string[];
  /** falcoctl's OAuth client-credentials file; default `<home>/.config/falcoctl/clientcredentials.json`. */
  oauthFile?: string;
  /** Registries in `registry.auth.gcp` and how to get an ADC access token (user `oauth2accesstoken`). */
  gcp?: { registries: readonly string[]; token: (opts: { signal?: AbortSignal }) => Promise<string> };
  env: Env;
  home: string;
  runHelper?: HelperRunner;
  helperTimeoutMs?: number;
  /** For OAuth token requests; default `fetchVia()` over undici's global dispatcher (no proxy env: the CLI passes its own). */
  fetch?: FetchLike;
  now?: () => number;
  /** Warnings about fallback files that cannot be read (secret-free). */
  logger?: Logger;
}

type Layer = (registry: string, signal?: AbortSignal) => Promise<Credential | undefined>;

/**
 * The credential source rulesctl uses for registry R (spec §12). First non-empty answer wins:
 *  1. `explicit` (command-line flags);
 *  2. `registry.auth.basic` from config (as in falcoctl, configured credentials win; falcoctl also
 *     saves them into the credential file, which is the CLI's job, not this lookup's);
 *  3. `registry.auth.oauth` from config: a client-credentials token, sent as bearer;
 *  4. the credential file `registry.creds.config` (docker config.json format: `auths`,
 *     `credsStore`, `credHelpers`);
 *  5. falcoctl's OAuth client-credentials file (`registry auth oauth`);
 *  6. GCP application-default credentials, for registries in `registry.auth.gcp`;
 *  7. docker's config.json, when it is not the file of step 4;
 *  8. podman auth.json files;
 *  9. anonymous (undefined).
 * Steps 1-6 are configured, so their errors propagate; 7-8 are implicit fallbacks, so a file
 * that cannot be read is logged as a warning and skipped. GITHUB_TOKEN (or any env var) is never
 * read implicitly: CI passes it as `registry.auth.basic`, e.g.
 * `FALCOCTL_REGISTRY_AUTH_BASIC=ghcr.io,${GITHUB_ACTOR},${GITHUB_TOKEN}`, or logs in first.
 * Registry hosts match case-insensitively, ignoring `https://` and Docker Hub aliases.
 */
export function createCredentialSource(options: CredentialSourceOptions): CredentialSource {
  const logger = options.logger ?? nullLogger;
  const dockerPath = options.dockerConfigPath ?? defaultDockerConfigPath(options.env, options.home);
  const credsPath = options.credsConfigPath ?? dockerPath;
  const fileOpts = { env: options.env, ...(options.runHelper ? { runHelper: options.runHelper } : {}), ...(options.helperTimeoutMs ? { helperTimeoutMs: options.helperTimeoutMs } : {}) };
  const fetch: FetchLike = options.fetch ?? fetchVia();
  const tokens = createClientCredentialsTokenSource({ fetch, ...(options.now ? { now: options.now } : {}) });
  const oauthFile = options.oauthFile ?? defaultClientCredentialsPath(options.home);
  const podman = options.podmanAuthPaths ?? podmanAuthPaths(options.env, options.home);
  const credsFile = openCredentialFile(credsPath, fileOpts);
  const dockerFile = openCredentialFile(dockerPath, fileOpts);

  const layers: Layer[] = [
    async (r) => findByHost(options.explicit, r)?.[1],
    async (r) => {
      const a = options.configAuth?.basic?.find((e) => hostKey(e.registry) === hostKey(r));
      return a === undefined ? undefined : { kind: 'basic', username: a.user, password: a.password };
    },
    async (r, signal) => {
      const o = options.configAuth?.oauth?.find((e) => hostKey(e.registry) === hostKey(r));
      if (o === undefined) return undefined;
      const config = { ClientID: o.clientID, ClientSecret: o.clientSecret, TokenURL: o.tokenURL, Scopes: null, EndpointParams: null, AuthStyle: 0 };
      return tokens(config, signal ? { signal } : {});
    },
    async (r, signal) => credsFile.get(r, signal ? { signal } : {}),
    async (r, signal) => {
      const config = clientCredentialsFor(await readClientCredentials(oauthFile, signal ? { signal } : {}), r);
      return config === undefined ? undefined : tokens(config, signal ? { signal } : {});
    },
    async (r, signal) => {
      if (!options.gcp?.registries.some((g) => hostKey(g) === hostKey(r))) return undefined;
      return { kind: 'basic', username: 'oauth2accesstoken', password: await options.gcp.token(signal ? { signal } : {}) };
    },
    fallback(logger, async (r, signal) => (dockerPath === credsPath ? undefined : dockerFile.get(r, signal ? { signal } : {}))),
    fallback(logger, async (r, signal) => lookupPodman(podman, r, signal ? { signal } : {})),
  ];

  return async (registry, opts = {}) => {
    for (const layer of layers) {
      opts.signal?.throwIfAborted();
      const cred = await layer(registry, opts.signal);
      if (cred !== undefined) return cred;
    }
    return undefined;
  };
}

function fallback(logger: Logger, layer: Layer): Layer {
  return async (registry, signal) => {
    try {
      return await layer(registry, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      logger.warn('Ignoring unreadable credentials', { registry, reason: (err as Error).message });
      return undefined;
    }
  };
}
