import { homedir } from 'node:os';
import type { Logger } from '../log.js';
import { createCredentialSource } from '../oci/auth/credentials/source.js';
import type { CredentialSource } from '../oci/auth/types.js';
import { createRegistryClient } from '../oci/registry/client.js';
import { createDispatcher } from '../oci/registry/transport.js';
import { fetchVia } from '../util/undici.js';
import { createTargetFactory, type TargetFactory } from '../oci/targets.js';

/** How the library API reaches registries; every field is optional. */
export interface ClientOptions {
  /** Speak plain HTTP to every registry (falcoctl's `--plain-http`). */
  plainHttp?: boolean;
  /** Skip TLS verification. */
  insecure?: boolean;
  /** Extra CA certificates (PEM file). */
  caFile?: string;
  /**
   * Where credentials come from; default: the docker config (`$DOCKER_CONFIG/config.json` or
   * `~/.docker/config.json`, with its credential helpers), then podman's auth.json, then anonymous.
   */
  credentials?: CredentialSource;
  /** Mirrors per registry (`registry.mirrors`), e.g. `{ 'ghcr.io': ['oci:/srv/layouts'] }`. */
  mirrors?: Record<string, string[]>;
  /** Proxy variables, DOCKER_CONFIG, …; default `process.env`. */
  env?: Record<string, string | undefined>;
  home?: string;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface Access {
  targets: TargetFactory;
  close(): Promise<void>;
}

/** The registry client and target factory for one API call (closed by the caller). */
export function openAccess(opts: ClientOptions): Access {
  const env = opts.env ?? process.env;
  const home = opts.home ?? env.HOME ?? homedir();
  // OAuth/Google token requests take the same proxy settings as the registry requests.
  const tokenDispatcher = opts.credentials === undefined ? createDispatcher({ env }) : undefined;
  const credentials = opts.credentials ?? createCredentialSource({ env, home, fetch: fetchVia(tokenDispatcher), ...(opts.logger ? { logger: opts.logger } : {}) });
  const common = {
    credentials, env,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.caFile ? { caFile: opts.caFile } : {}),
    ...(opts.insecure ? { insecure: true } : {}),
  };
  const client = createRegistryClient({ ...common, plainHttp: opts.plainHttp === true });
  const plain = createRegistryClient({ ...common, plainHttp: true });
  const targets = createTargetFactory({ client, plainHttpClient: plain, ...(opts.mirrors ? { mirrors: opts.mirrors } : {}), ...(opts.logger ? { logger: opts.logger } : {}) });
  return { targets, close: async () => void (await Promise.all([client.close(), plain.close(), tokenDispatcher?.close()])) };
}
