import type * as Undici from 'undici';
import api from 'undici/lib/api/index.js';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import ProxyAgentClass from 'undici/lib/dispatcher/proxy-agent.js';
import { getGlobalDispatcher } from 'undici/lib/global.js';

/**
 * The parts of undici rulesctl uses, imported from their own modules instead of undici's index.
 * The index also loads fetch, WebSocket, EventSource, cookies, caches and mocks (and, through
 * them, Node's own bundled undici): ~70 ms of start-up that no rulesctl command needs. These
 * module paths are stable across undici 6 and 7 (types: src/types/undici-parts.d.ts); the whole
 * test suite runs through them.
 */
export const Agent = AgentClass;
export const ProxyAgent = ProxyAgentClass;

// What undici's index does for every dispatcher: request/stream/pipeline/upgrade/connect on the
// prototype (ProxyAgent tunnels with `connect`). The same modules, so this is idempotent when
// something else loads the index too.
Object.assign(Dispatcher.prototype, api);

/**
 * A dispatcher that sends each request through the dispatcher `pick` names for its origin,
 * creating each once (`create`) and keeping it for the origins that share its key: one pool per
 * (proxy, TLS setting), so connections are reused as with a single Agent.
 */
export function originRouter(pick: (origin: URL) => { key: string; create: () => Undici.Dispatcher }): Undici.Dispatcher {
  return new OriginRouter(pick) as unknown as Undici.Dispatcher;
}

class OriginRouter extends (Dispatcher as unknown as new () => object) {
  readonly #made = new Map<string, Undici.Dispatcher>();

  constructor(private readonly pick: (origin: URL) => { key: string; create: () => Undici.Dispatcher }) {
    super();
  }

  dispatch(opts: Undici.Dispatcher.DispatchOptions, handler: Undici.Dispatcher.DispatchHandler): boolean {
    const { key, create } = this.pick(new URL(String(opts.origin)));
    let d = this.#made.get(key);
    if (d === undefined) {
      d = create();
      this.#made.set(key, d);
    }
    return d.dispatch(opts, handler);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#made.values()].map((d) => d.close()));
  }

  async destroy(err?: Error | null): Promise<void> {
    await Promise.all([...this.#made.values()].map((d) => d.destroy(err ?? null)));
  }
}

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

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * A fetch-shaped function over `dispatcher` (default the global dispatcher, as `globalThis.fetch`
 * uses) without loading undici's fetch. Redirects are followed, up to 10 as Go's http.Client does:
 * 301/302 of a POST and 303 become a GET without body; Authorization is dropped across origins.
 * Unlike Go, a 307/308 that would resend a body to another origin (another host, port or scheme,
 * so also https to http) is refused: these bodies are OAuth client secrets and refresh tokens.
 * Errors are undici's (`code` on the error itself, e.g. `ECONNREFUSED`; an aborted signal rejects
 * with its reason), and ERR_REDIRECT for a refused or endless redirect.
 */
export function fetchVia(dispatcher?: Undici.Dispatcher): SimpleFetch {
  return async (url, init) => {
    let current = new URL(url);
    let { method, body } = init;
    const headers = { ...init.headers };
    for (let hop = 0; ; hop++) {
      const res = await requestUrl(current, { ...init, method, headers, body, dispatcher: dispatcher ?? getGlobalDispatcher() });
      const location = res.headers['location'];
      if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string') return simpleResponse(res);
      await res.body.dump();
      const next = new URL(location, current);
      const refuse = (why: string) => Object.assign(new Error(`${method} ${current.origin}${current.pathname}: ${why}`), { code: 'ERR_REDIRECT' });
      if (hop >= 10) throw refuse('stopped after 10 redirects');
      if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
        dropHeader(headers, 'content-type');
      } else if (body !== undefined && next.origin !== current.origin) {
        throw refuse(`not resending its body to ${next.origin} (a ${res.statusCode} redirect to another origin)`);
      }
      if (next.origin !== current.origin) dropHeader(headers, 'authorization');
      current = next;
    }
  };
}

function dropHeader(headers: Record<string, string>, name: string): void {
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name) delete headers[k];
}

function simpleResponse(res: Undici.Dispatcher.ResponseData): SimpleResponse {
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
}
