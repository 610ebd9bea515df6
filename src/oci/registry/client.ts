import type { Dispatcher } from 'undici';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import { nullLogger, type Logger } from '../../log.js';
import { createAuthorizer } from '../auth/authorizer.js';
import { anonymous, type CredentialSource } from '../auth/types.js';
import { apiHost, isValidRepository, parseReference } from '../reference.js';
import type { OpOptions } from '../target.js';
import { RegistryRepository } from './repository.js';
import { send, type ClientContext } from './request.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { createTransport } from './transport.js';

export const CLIENT_VERSION = '0.1.0';

export interface RegistryClientOptions {
  /** undici dispatcher to use (tests, shared pools). When set, caFile/insecure/env proxy are ignored. */
  dispatcher?: Dispatcher;
  credentials?: CredentialSource;
  /** Plain HTTP for all registries, or per registry. Credentials travel only where this is true or TLS is used. */
  plainHttp?: boolean | ((registry: string) => boolean);
  /** Skip TLS verification: for every host (`true`), or for the `host:port` origins this accepts (others, token realms and redirect targets included, stay verified). */
  insecure?: boolean | ((host: string) => boolean);
  /** Extra CA bundle (PEM) for TLS. */
  caFile?: string;
  /** Default `rulesctl/<version>`. */
  userAgent?: string;
  retry?: Partial<RetryPolicy>;
  /** Chunked PATCH uploads of at most this many bytes; default monolithic (ghcr.io needs ≤ 4 MiB). */
  chunkSize?: number;
  /** Environment for proxy settings (HTTP_PROXY, HTTPS_PROXY, NO_PROXY). */
  env?: Record<string, string | undefined>;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  logger?: Logger;
  signal?: AbortSignal;
  /** Randomness for jitter (tests). */
  random?: () => number;
}

export interface RegistryClient {
  /** `GET /v2/` with auth: resolves when the registry answers and accepts the credentials. */
  ping(registry: string, opts?: OpOptions): Promise<void>;
  /** A repository from `registry/repo[:tag]` or `{ registry, repository }`. */
  repository(ref: string | { registry: string; repository: string }): RegistryRepository;
  /** Closes the owned dispatcher (keep-alive sockets). */
  close(): Promise<void>;
}

/**
 * Creates the native OCI distribution client (style.md practice 6): one keep-alive dispatcher,
 * injected credentials, env, logger and signal; https unless plainHttp says otherwise.
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md
 */
export function createRegistryClient(opts: RegistryClientOptions = {}): RegistryClient {
  const plain = (registry: string): boolean => (typeof opts.plainHttp === 'function' ? opts.plainHttp(registry) : opts.plainHttp === true);
  const logger = opts.logger ?? nullLogger;
  const transport = createTransport({
    userAgent: opts.userAgent ?? `rulesctl/${CLIENT_VERSION}`,
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    ...(opts.insecure !== undefined && opts.insecure !== false ? { insecure: opts.insecure } : {}),
    ...(opts.caFile ? { caFile: opts.caFile } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.headersTimeoutMs !== undefined ? { headersTimeoutMs: opts.headersTimeoutMs } : {}),
    ...(opts.bodyTimeoutMs !== undefined ? { bodyTimeoutMs: opts.bodyTimeoutMs } : {}),
  });
  const authorizer = createAuthorizer({ credentials: opts.credentials ?? anonymous, send: (r) => transport.send(r), logger, allowPlainHttp: plain });
  if (opts.chunkSize !== undefined && (!Number.isInteger(opts.chunkSize) || opts.chunkSize <= 0)) {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid chunk size ${opts.chunkSize}: expected a positive integer`);
  }
  const ctx: ClientContext = {
    transport, authorizer, logger,
    retry: { ...DEFAULT_RETRY, ...opts.retry },
    baseUrl: (registry) => new URL(`${plain(registry) ? 'http' : 'https'}://${apiHost(registry)}`),
    ...(opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.random ? { random: opts.random } : {}),
  };
  return {
    async ping(registry, o = {}) {
      const res = await send(ctx, registry, { method: 'GET', url: '/v2/', scopes: [], action: `checking registry ${registry}`, ...(o.signal ? { signal: o.signal } : {}) });
      await res.body.dump();
    },
    repository(ref) {
      const { registry, repository } = typeof ref === 'string' ? parseReference(ref) : ref;
      if (!isValidRepository(repository)) {
        throw new RulesctlError(ErrorCodes.INVALID_REFERENCE, `invalid repository name "${repository}"`);
      }
      return new RegistryRepository({ client: ctx, registry, repository, name: `${registry}/${repository}` });
    },
    close: () => transport.close(),
  };
}
