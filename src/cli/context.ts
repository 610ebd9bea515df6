import type { ResolvedSettings } from '../config/load.js';
import { createGcpTokenSource } from '../oci/auth/credentials/gcp.js';
import { createCredentialSource } from '../oci/auth/credentials/source.js';
import type { Credential } from '../oci/auth/types.js';
import { createRegistryClient, type RegistryClient } from '../oci/registry/client.js';
import { createDispatcher } from '../oci/registry/transport.js';
import { createTargetFactory, type TargetFactory } from '../oci/targets.js';
import { fetchVia } from '../util/undici.js';
import type { Runtime } from './runtime.js';
import { homeOf } from './settings-context.js';

export { homeOf, loadSettings } from './settings-context.js';

export interface RegistryAccessOptions {
  /** `--plain-http` given on the command line. */
  plainHttp?: boolean;
  /** `--insecure` given on the command line. */
  insecure?: boolean;
  /** `--ca-file` given on the command line. */
  caFile?: string;
  /** Credentials from flags (`--username`/`--password`), by registry host. */
  explicit?: Record<string, Credential>;
  chunkSize?: number;
}

export interface RegistryAccess {
  client: RegistryClient;
  /** The client to use for a registry host (honours --insecure / registry.insecure per host). */
  clientFor(registry: string): RegistryClient;
  targets: TargetFactory;
  close(): Promise<void>;
}

/**
 * The registry client and target factory for a command: credentials in the documented order
 * (src/oci/auth/credentials/source.ts), plain HTTP only for `--plain-http` or hosts listed in
 * `registry.plainHttp`, mirrors from `registry.mirrors`. OAuth and GCP token requests go through
 * their own dispatcher with the proxy from `rt.io.env` (no --ca-file: falcoctl uses the default
 * trust for token endpoints).
 */
export function createRegistryAccess(rt: Runtime, settings: ResolvedSettings, opts: RegistryAccessOptions = {}): RegistryAccess {
  const gcpRegistries = settings.get('registry.auth.gcp').map((g) => g.registry);
  const tokenDispatcher = createDispatcher({ env: rt.io.env });
  const fetch = fetchVia(tokenDispatcher);
  const credentials = createCredentialSource({
    ...(opts.explicit ? { explicit: opts.explicit } : {}),
    ...(gcpRegistries.length > 0 ? { gcp: { registries: gcpRegistries, token: createGcpTokenSource({ env: rt.io.env, home: homeOf(rt), fetch }) } } : {}),
    configAuth: { basic: settings.get('registry.auth.basic'), oauth: settings.get('registry.auth.oauth') },
    credsConfigPath: settings.get('registry.creds.config'),
    env: rt.io.env,
    home: homeOf(rt),
    fetch,
    logger: rt.logger,
  });
  const plainHosts = new Set(settings.get('registry.plainHttp'));
  const insecureHosts = settings.get('registry.insecure');
  const caFile = opts.caFile ?? (settings.get('registry.caFile') || undefined);
  const common = {
    credentials,
    env: rt.io.env,
    logger: rt.logger,
    signal: rt.io.signal,
    ...(caFile ? { caFile } : {}),
    ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
  };
  const plainHttp = (r: string) => opts.plainHttp === true || plainHosts.has(r);
  const verified = createRegistryClient({ ...common, plainHttp });
  // TLS verification is skipped only for --insecure, or for the hosts listed in registry.insecure
  // (and then only on connections to them: their token realm or a blob redirect elsewhere is verified).
  const insecure = opts.insecure || insecureHosts.length > 0
    ? createRegistryClient({ ...common, plainHttp, insecure: opts.insecure === true ? true : (host) => insecureHosts.includes(host) || insecureHosts.includes(`${host}:443`) })
    : undefined;
  const clientFor = (r: string) => (insecure && (opts.insecure || insecureHosts.includes(r)) ? insecure : verified);
  const plainClient = createRegistryClient({ ...common, plainHttp: true });
  const targets = createTargetFactory({ client: verified, clientFor, plainHttpClient: plainClient, mirrors: settings.get('registry.mirrors'), logger: rt.logger });
  return {
    client: verified,
    clientFor,
    targets,
    async close() {
      await Promise.all([verified.close(), plainClient.close(), insecure?.close(), tokenDispatcher.close()]);
    },
  };
}
