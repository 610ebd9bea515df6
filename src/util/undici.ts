import { createRequire } from 'node:module';
import type * as Undici from 'undici';

/**
 * The parts of undici rulesctl uses, loaded from their own modules instead of undici's index.
 * The index also loads fetch, WebSocket, EventSource, cookies, caches and mocks (and, through
 * them, Node's own bundled undici): ~70 ms of start-up that no rulesctl command needs. These
 * module paths are stable across undici 6 and 7; the whole test suite runs through them.
 */
const require = createRequire(import.meta.url);

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;
export const EnvHttpProxyAgent = require('undici/lib/dispatcher/env-http-proxy-agent.js') as typeof Undici.EnvHttpProxyAgent;

// What undici's index does for every dispatcher: request/stream/pipeline/upgrade/connect on the
// prototype (ProxyAgent tunnels with `connect`). The same modules, so this is idempotent when
// something else loads the index too.
const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js') as object);
const { getGlobalDispatcher } = require('undici/lib/global.js') as { getGlobalDispatcher(): Undici.Dispatcher };

/** `dispatcher.request(opts)`. */
export function dispatchRequest(dispatcher: Undici.Dispatcher, opts: Undici.Dispatcher.RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  return dispatcher.request(opts);
}

export interface SimpleRequestOptions {
  method: Undici.Dispatcher.HttpMethod;
  headers?: Record<string, string>;
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
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}
