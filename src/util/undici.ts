import type * as Undici from 'undici';
import api from 'undici/lib/api/index.js';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import EnvHttpProxyAgentClass from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import { getGlobalDispatcher } from 'undici/lib/global.js';
import createRedirectInterceptor from 'undici/lib/interceptor/redirect.js';

/**
 * The parts of undici rulesctl uses, imported from their own modules instead of undici's index.
 * The index also loads fetch, WebSocket, EventSource, cookies, caches and mocks (and, through
 * them, Node's own bundled undici): ~70 ms of start-up that no rulesctl command needs. These
 * module paths are stable across undici 6 and 7 (types: src/types/undici-parts.d.ts); the whole
 * test suite runs through them.
 */
export const Agent = AgentClass;
export const EnvHttpProxyAgent = EnvHttpProxyAgentClass;

// What undici's index does for every dispatcher: request/stream/pipeline/upgrade/connect on the
// prototype (ProxyAgent tunnels with `connect`). The same modules, so this is idempotent when
// something else loads the index too.
Object.assign(Dispatcher.prototype, api);

/** `dispatcher.request(opts)`. */
export function dispatchRequest(dispatcher: Undici.Dispatcher, opts: Undici.Dispatcher.RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  return dispatcher.request(opts);
}

export interface SimpleRequestOptions {
  method: Undici.Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Defaults to the global dispatcher (what undici's `request(url)` uses, `setGlobalDispatcher` included). */
  dispatcher?: Undici.Dispatcher | undefined;
}

/** undici's top-level `request(url, opts)` for an absolute http(s) URL. */
export function requestUrl(url: string | URL, opts: SimpleRequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  const u = typeof url === 'string' ? new URL(url) : url;
  return dispatchRequest(opts.dispatcher ?? getGlobalDispatcher(), {
    origin: u.origin, path: u.pathname + u.search, method: opts.method,
    ...(opts.headers ? { headers: opts.headers } : {}),
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

/** What {@link fetchVia} answers: the part of a WHATWG `Response` the token sources read. */
export interface SimpleResponse {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** A small fetch: a string body, no streaming (the token sources' `FetchLike`/`GcpFetchLike`). */
export type SimpleFetch = (url: string, init: Omit<SimpleRequestOptions, 'dispatcher'>) => Promise<SimpleResponse>;

/**
 * A fetch-shaped function over `dispatcher` (default the global dispatcher, as `globalThis.fetch`
 * uses) without loading undici's fetch. Redirects are followed, up to 10 as Go's http.Client does
 * (301/302 of a POST and 303 become GET; Authorization is dropped across origins). Errors are
 * undici's (`code` on the error itself, e.g. `ECONNREFUSED`; an aborted signal rejects with its reason).
 */
export function fetchVia(dispatcher?: Undici.Dispatcher): SimpleFetch {
  const redirect = createRedirectInterceptor({ maxRedirections: 10 });
  return async (url, init) => {
    const res = await requestUrl(url, { ...init, dispatcher: (dispatcher ?? getGlobalDispatcher()).compose(redirect) });
    return {
      status: res.statusCode,
      headers: {
        get(name) {
          const v = res.headers[name.toLowerCase()];
          return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
        },
      },
      text: () => res.body.text(),
    };
  };
}
