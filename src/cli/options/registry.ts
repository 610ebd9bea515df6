import { hostPlatform as hostPlatformOf } from '../../oci/platform.js';
import { Option, type Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import type { ResolvedSettings } from '../../config/load.js';
import type { TargetPlatform } from '../../artifact/resolve-manifest.js';
import { createCredentialSource } from '../../oci/auth/credentials/source.js';
import { createDispatcher } from '../../oci/registry/transport.js';
import { fetchVia } from '../../util/undici.js';
import type { OrasRemote } from '../../oci/oras-cli/args.js';
import type { OrasSession } from '../../oci/oras-cli/backend.js';
import { execaRunner } from '../../oci/oras-cli/run.js';
import { homeOf, type RegistryAccessOptions } from '../context.js';
import type { Runtime } from '../runtime.js';

export type Backend = 'native' | 'oras';

/** What the registry option group yields, ready for `createRegistryAccess` and the oras backend. */
export interface RegistryOptions extends RegistryAccessOptions {
  /** From `--backend`, else unset (the caller falls back to `artifact.backend`). */
  backend?: Backend;
}

const PLATFORM = /^[a-z]+\/[a-z0-9_]+$/;

/**
 * Adds the registry option group (style practice 3): falcoctl's `--plain-http`, plus rulesctl's
 * `--insecure`, `--ca-file`, `--chunk-size` and `--backend native|oras`. Credentials come from
 * falcoctl.yaml / `FALCOCTL_REGISTRY_AUTH_BASIC` / `registry auth` / docker config, as in falcoctl,
 * whose push and pull have no credential flags.
 */
export function addRegistryOptions(cmd: Command): Command {
  return cmd
    .option('--plain-http', 'allows interacting with remote registry via plain http requests', false)
    .option('--insecure', 'skip TLS certificate verification (rulesctl)')
    .option('--ca-file <path>', 'extra PEM CA bundle to trust for registry TLS (rulesctl)')
    .option('--chunk-size <bytes>', 'upload blobs in PATCH chunks of at most this many bytes (rulesctl; ghcr.io needs <= 4 MiB)')
    .addOption(new Option('--backend <name>', 'transfer through the built-in client or the `oras` executable (rulesctl; default: artifact.backend)').choices(['native', 'oras']));
}

/** Reads the group from commander's parsed options; throws ERR_USAGE for a bad `--chunk-size`. */
export function readRegistryOptions(opts: Record<string, unknown>): RegistryOptions {
  const out: RegistryOptions = {};
  if (opts.plainHttp === true) out.plainHttp = true;
  if (opts.insecure === true) out.insecure = true;
  if (typeof opts.caFile === 'string' && opts.caFile !== '') out.caFile = opts.caFile;
  if (opts.chunkSize !== undefined) out.chunkSize = parseChunkSize(String(opts.chunkSize));
  if (opts.backend === 'native' || opts.backend === 'oras') out.backend = opts.backend;
  return out;
}

/** `--backend` when given, else the `artifact.backend` setting (falcoctl.yaml / FALCOCTL_ARTIFACT_BACKEND). */
export function chooseBackend(opts: RegistryOptions, settings: ResolvedSettings): Backend {
  return opts.backend ?? (settings.get('artifact.backend') === 'oras' ? 'oras' : 'native');
}

function parseChunkSize(v: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid value "${v}" for --chunk-size: expected a positive number of bytes`, {
      hint: 'for example --chunk-size 4194304 (4 MiB)',
    });
  }
  return n;
}

/** commander collector for repeatable flags (`--tag a --tag b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Node's process.platform/arch in Go's GOOS/GOARCH names (falcoctl.md §4: `linux/amd64`). */
export function hostPlatform(platform: string = process.platform, arch: string = process.arch): TargetPlatform {
  return hostPlatformOf(platform, arch);
}

/**
 * The target platform of a pull: the first `--platform os/arch` (falcoctl takes the first), else the
 * host's. Throws ERR_USAGE quoting a value that is not `os/arch`.
 */
export function readPlatform(values: readonly string[] | string | undefined): TargetPlatform {
  const first = Array.isArray(values) ? values[0] : (values as string | undefined);
  if (first === undefined || first === '') return hostPlatform();
  if (!PLATFORM.test(first)) {
    throw new RulesctlError(ErrorCodes.USAGE, `platform "${first}" seems to be in the wrong format: needs to be in OS/ARCH and to satisfy the following regexp ^[a-z]+/[a-z0-9_]+$`, {
      hint: 'for example --platform linux/arm64',
    });
  }
  const [os, architecture] = first.split('/') as [string, string];
  return { os, architecture };
}

/**
 * The oras session for a command on `registry`: the same connection options as the native client,
 * and the credential the native path would use (flags > falcoctl.yaml > env > creds file > docker
 * config), passed to oras as `--username … --password-stdin` / `--identity-token-stdin`.
 */
export async function orasSessionFor(rt: Runtime, settings: ResolvedSettings, opts: RegistryOptions, registry: string): Promise<OrasSession> {
  // An OAuth token request takes the proxy from the environment, as on the native path.
  const tokenDispatcher = createDispatcher({ env: rt.io.env });
  let cred;
  try {
    const credentials = createCredentialSource({
      configAuth: { basic: settings.get('registry.auth.basic'), oauth: settings.get('registry.auth.oauth') },
      credsConfigPath: settings.get('registry.creds.config'),
      env: rt.io.env,
      home: homeOf(rt),
      fetch: fetchVia(tokenDispatcher),
      logger: rt.logger,
    });
    cred = await credentials(registry, { signal: rt.io.signal });
  } finally {
    await tokenDispatcher.close();
  }
  const remote: OrasRemote = {
    ...(opts.plainHttp || settings.get('registry.plainHttp').includes(registry) ? { plainHttp: true } : {}),
    ...(opts.insecure || settings.get('registry.insecure').includes(registry) ? { insecure: true } : {}),
  };
  const caFile = opts.caFile ?? (settings.get('registry.caFile') || undefined);
  if (caFile) remote.caFile = caFile;
  const session: OrasSession = { runner: execaRunner({ env: rt.io.env }), remote, logger: rt.logger, signal: rt.io.signal };
  if (cred?.kind === 'basic') {
    remote.credential = { kind: 'basic', username: cred.username };
    session.secret = cred.password;
  } else if (cred?.kind === 'identity-token') {
    remote.credential = { kind: 'identity-token' };
    session.secret = cred.token;
  } else if (cred?.kind === 'bearer') {
    // oras takes a password or a refresh token, not a registry access token (registry.auth.oauth).
    rt.logger.warn('The oras backend cannot use the OAuth access token of this registry; oras runs without credentials (use --backend native)', { registry });
  }
  return session;
}
