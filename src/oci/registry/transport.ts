import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import { proxyEnv } from '../../util/proxy-env.js';
import { Agent, ProxyAgent, dispatchRequest, originRouter } from '../../util/undici.js';
import { redactUrl } from '../auth/redact.js';

export interface RawRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Uint8Array | Readable | string;
  /** The body carries a credential (a token request's refresh token): never resent to another origin. */
  secretBody?: boolean;
  signal?: AbortSignal;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  url: URL;
  /** True when a redirect left the origin of the request: the answer is not the registry's. */
  crossOrigin: boolean;
}

export interface TransportOptions {
  dispatcher?: Dispatcher;
  /** Skip TLS verification: everywhere (`true`), or for the `host:port` origins it accepts. */
  insecure?: boolean | ((host: string) => boolean);
  caFile?: string;
  /** Proxy settings as environment variables (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, lower case too). */
  env?: Record<string, string | undefined>;
  /** ms until response headers (default 30 s). */
  headersTimeoutMs?: number;
  /** ms of silence while reading a body (default 60 s). */
  bodyTimeoutMs?: number;
  userAgent: string;
  /** Redirect hops followed (default 10). */
  maxRedirects?: number;
}

export interface Transport {
  send(req: RawRequest): Promise<RawResponse>;
  close(): Promise<void>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * HTTP for the registry client: one keep-alive dispatcher per client, TLS options, proxy from the
 * injected env, and redirects followed by hand. When a redirect changes origin (scheme, host, port)
 * the `Authorization` header is dropped for that hop and every later one, and the response is
 * flagged `crossOrigin` so callers never answer its 401 with registry credentials
 * (registries.md §4.5, GHSA-vh4v-2xq2-g5cg).
 */
export function createTransport(opts: TransportOptions): Transport {
  const owned = opts.dispatcher === undefined;
  const dispatcher = opts.dispatcher ?? createDispatcher(opts);
  const maxRedirects = opts.maxRedirects ?? 10;
  return {
    async send(req) {
      let url = req.url;
      let method = req.method;
      let body = req.body;
      const headers: Record<string, string> = { 'user-agent': opts.userAgent, ...req.headers };
      let crossOrigin = false;
      for (let hop = 0; ; hop++) {
        // undici returns a connection to its pool on a later turn of the event loop than the one
        // that ends the previous response: a request sent straight after would open a new
        // connection. One turn (~0.1 ms) keeps a sequence of requests on one connection.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const res = await dispatchRequest(dispatcher, {
          origin: url.origin, path: url.pathname + url.search, method, headers, body: body ?? null,
          signal: req.signal, headersTimeout: opts.headersTimeoutMs ?? 30_000, bodyTimeout: opts.bodyTimeoutMs ?? 60_000,
          // undici closes the connection after every HEAD (for servers that send a body anyway,
          // undici#258); registries answer HEAD as HTTP says, and Go's client keeps the connection.
          // A warm install or a follow tick is mostly HEADs: one connection per host, not per request.
          ...(method === 'HEAD' ? { reset: false } : {}),
        });
        const location = res.headers['location'];
        if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string') {
          return { status: res.statusCode, headers: res.headers, body: res.body, url, crossOrigin };
        }
        await res.body.dump();
        if (hop >= maxRedirects) {
          throw new RulesctlError(ErrorCodes.TOO_MANY_REDIRECTS, `${req.method} ${redactUrl(req.url)}: more than ${maxRedirects} redirects`, {
            details: { method: req.method, url: redactUrl(req.url), last: redactUrl(url) },
          });
        }
        const next = new URL(location, url);
        if (next.origin !== url.origin) {
          crossOrigin = true;
          delete headers['authorization'];
        }
        if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
          method = method === 'HEAD' ? 'HEAD' : 'GET';
          body = undefined;
          delete headers['content-type'];
          delete headers['content-length'];
        } else if (body !== undefined && req.secretBody && next.origin !== url.origin) {
          // Go would resend it (stripping only headers); a refresh token must not reach another host, or http.
          throw new RulesctlError(ErrorCodes.REGISTRY, `${req.method} ${redactUrl(req.url)}: redirected to ${redactUrl(next)}, another origin; a request carrying credentials is not resent there`, {
            details: { method: req.method, url: redactUrl(req.url), location: redactUrl(next) },
          });
        } else if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
          throw new RulesctlError(ErrorCodes.REGISTRY, `${req.method} ${redactUrl(req.url)}: redirected to ${redactUrl(next)} after the upload stream was sent; it cannot be replayed`, {
            details: { method: req.method, url: redactUrl(req.url), location: redactUrl(next) },
          });
        }
        url = next;
      }
    },
    async close() {
      if (owned) await dispatcher.close();
    },
  };
}

/**
 * The dispatcher {@link createTransport} builds when none is given: keep-alive, TLS trust from
 * `caFile` (else Node's default CAs), and HTTP(S)_PROXY/NO_PROXY read from `env` only (never
 * process.env) with Go's rules (src/util/proxy-env.ts: loopback never proxied, CIDRs). `insecure`
 * skips certificate verification for every origin (`true`) or for the hosts (`host:port`) it
 * accepts: a token realm or a blob redirect on another host is still verified. The CLI sends
 * OAuth and GCP token requests through one too, without caFile (falcoctl.md §12: proxy from env).
 * The caller closes it.
 */
export function createDispatcher(opts: Pick<TransportOptions, 'caFile' | 'insecure' | 'env'>): Dispatcher {
  const ca = opts.caFile ? readFileSync(opts.caFile, 'utf8') : undefined;
  const tls = (insecure: boolean) => ({ ...(ca !== undefined ? { ca } : {}), ...(insecure ? { rejectUnauthorized: false } : {}) });
  const proxies = proxyEnv(opts.env ?? {});
  const insecure = opts.insecure;
  if (!proxies.any && typeof insecure !== 'function') return new Agent({ connect: tls(insecure === true) });
  return originRouter((origin) => {
    const proxy = proxies.proxyFor(origin);
    const skip = typeof insecure === 'function' ? insecure(origin.host) : insecure === true;
    return {
      key: `${skip ? 'insecure' : 'verified'} ${proxy ?? 'direct'}`,
      create: () => (proxy !== undefined ? new ProxyAgent({ uri: proxy, requestTls: tls(skip) }) : new Agent({ connect: tls(skip) })),
    };
  });
}
