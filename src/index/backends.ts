import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Dispatcher } from 'undici';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { redactUrl } from '../oci/auth/redact.js';

/** The backends rulesctl implements. falcoctl's `gcs` and `s3` are refused as unsupported. */
export type IndexBackend = 'http' | 'file';

/** Where an index lives: falcoctl.yaml `indexes[]` / indexes.yaml `configs[]` (spec §8, §10). */
export interface IndexSource {
  name: string;
  url: string;
  /** BACKEND argument of `index add`; case-insensitive; wins over the URL scheme. */
  backend?: string;
}

/** HTTP cache validators kept beside the cached index (conditional fetch). */
export interface IndexValidators {
  etag?: string;
  lastModified?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text(): Promise<string>;
  /** Discards the body (always called when `text` is not). */
  dump(): Promise<void>;
}

/** GET without following redirects. The default is undici `request` through `dispatcher`. */
export type HttpGet = (
  url: string,
  opts: { headers: Record<string, string>; signal?: AbortSignal; dispatcher?: Dispatcher },
) => Promise<HttpResponse>;

export interface FetchIndexOptions {
  signal?: AbortSignal;
  /** Allow `http://` URLs (and redirects to them). Off by default. */
  allowPlainHttp?: boolean;
  /** Sent as If-None-Match / If-Modified-Since. */
  validators?: IndexValidators;
  httpGet?: HttpGet;
  dispatcher?: Dispatcher;
  /**
   * Proxy variables (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`, either case) for the default HttpGet
   * when no `dispatcher` is given: the CLI passes its environment, and the request goes through the
   * registry transport's `createDispatcher` (which reads them), as registry requests do.
   */
  proxyEnv?: Record<string, string | undefined>;
}

export type FetchIndexResult =
  | { notModified: true; validators: IndexValidators }
  | { notModified: false; text: string; validators: IndexValidators };

const SCHEME_BACKENDS: Record<string, IndexBackend> = { http: 'http', https: 'http', file: 'file' };
const BACKEND_NAMES: Record<string, IndexBackend> = { http: 'http', https: 'http', file: 'file' };
const MAX_REDIRECTS = 10;

const unsupported = (what: string) =>
  new RulesctlError(ErrorCodes.INDEX_FETCH, `unsupported index backend type: ${what}`, {
    hint: 'use an https://, http:// or file:/// URL, or the backend "https", "http" or "file"',
  });

/**
 * Picks the backend as falcoctl's fetcher does: the BACKEND argument (case-insensitive) wins,
 * else the URL scheme (`http`/`https` → http, `file` → file). Throws
 * `unsupported index backend type: X` otherwise (including falcoctl's `gcs` and `s3`). Spec §8.
 */
export function selectBackend(url: string, backend?: string): IndexBackend {
  if (backend !== undefined && backend !== '') {
    const b = BACKEND_NAMES[backend.toLowerCase()];
    if (b === undefined) throw unsupported(backend);
    return b;
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase() ?? '';
  const b = SCHEME_BACKENDS[scheme];
  if (b === undefined) throw unsupported(scheme === '' ? url : scheme);
  return b;
}

/** The default HttpGet: undici `request`, body left to the caller. */
export const undiciGet: HttpGet = async (url, opts) => {
  // Loaded on first use: commands that read only cached or built-in indexes never load undici.
  const { requestUrl } = await import('../util/undici.js');
  const res = await requestUrl(url, { method: 'GET', headers: opts.headers, signal: opts.signal, dispatcher: opts.dispatcher });
  return {
    status: res.statusCode,
    headers: res.headers,
    text: () => res.body.text(),
    dump: () => res.body.dump(),
  };
};

const header = (h: HttpResponse['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

function checkPlainHttp(url: URL, allow: boolean | undefined): void {
  if (url.protocol === 'http:' && allow !== true) {
    throw new RulesctlError(ErrorCodes.PLAIN_HTTP_REFUSED, `refusing to fetch index over plain HTTP: ${url.origin}${url.pathname}`, {
      hint: 'use an https:// URL, or allow plain HTTP explicitly (--plain-http)',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw unsupported(url.protocol.slice(0, -1));
}

function conditionalHeaders(v: IndexValidators | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  if (v?.etag !== undefined) h['if-none-match'] = v.etag;
  if (v?.lastModified !== undefined) h['if-modified-since'] = v.lastModified;
  return h;
}

async function getOnce(url: URL, opts: FetchIndexOptions): Promise<HttpResponse> {
  const get = opts.httpGet ?? undiciGet;
  try {
    return await get(url.href, { headers: conditionalHeaders(opts.validators), signal: opts.signal, dispatcher: opts.dispatcher });
  } catch (err) {
    if (opts.signal?.aborted === true) throw new RulesctlError(ErrorCodes.ABORTED, 'index fetch aborted', { cause: err });
    throw new RulesctlError(ErrorCodes.NETWORK, `cannot fetch index: ${(err as Error).message}`, { cause: err });
  }
}

async function fetchHttp(start: string, opts: FetchIndexOptions): Promise<FetchIndexResult> {
  let url = new URL(start);
  // Plain HTTP only for an index whose own URL is http://: an https index is never followed down to http.
  const allowPlainHttp = opts.allowPlainHttp === true && url.protocol === 'http:';
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    checkPlainHttp(url, allowPlainHttp);
    const res = await getOnce(url, opts);
    const location = header(res.headers, 'location');
    if ([301, 302, 303, 307, 308].includes(res.status) && location !== undefined) {
      await res.dump();
      url = new URL(location, url);
      continue;
    }
    const validators: IndexValidators = {};
    const etag = header(res.headers, 'etag');
    const lastModified = header(res.headers, 'last-modified');
    if (etag !== undefined) validators.etag = etag;
    if (lastModified !== undefined) validators.lastModified = lastModified;
    if (res.status === 304 && opts.validators !== undefined) {
      await res.dump();
      return { notModified: true, validators: { ...opts.validators, ...validators } };
    }
    if (res.status < 200 || res.status >= 300) {
      await res.dump();
      throw new RulesctlError(ErrorCodes.INDEX_FETCH, `cannot fetch index: ${res.status}`, { details: { status: res.status } });
    }
    return { notModified: false, text: await res.text(), validators };
  }
  throw new RulesctlError(ErrorCodes.TOO_MANY_REDIRECTS, `cannot fetch index: more than ${MAX_REDIRECTS} redirects from ${redactUrl(start)}`);
}

async function fetchFile(url: string, signal: AbortSignal | undefined): Promise<FetchIndexResult> {
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch (err) {
    throw new RulesctlError(ErrorCodes.INDEX_FETCH, `cannot fetch index: invalid file URL "${url}"`, {
      cause: err, hint: 'use an absolute file URL such as file:///srv/index.yaml',
    });
  }
  try {
    return { notModified: false, text: await readFile(path, { encoding: 'utf8', signal }), validators: {} };
  } catch (err) {
    throw new RulesctlError(ErrorCodes.INDEX_FETCH, `cannot fetch index: cannot read "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/**
 * Fetches the raw text of an index (spec §8 "Backends"). http: GET following up to 10 redirects,
 * conditional when `validators` are given (a 304 returns `notModified`); status outside 2xx fails
 * with `cannot fetch index: <status>`. file: reads the path of a `file:///abs/path` URL.
 */
export async function fetchIndexText(source: IndexSource, opts: FetchIndexOptions = {}): Promise<FetchIndexResult> {
  const backend = selectBackend(source.url, source.backend);
  if (backend === 'file') return fetchFile(source.url, opts.signal);
  let url: URL;
  try {
    url = new URL(source.url);
  } catch (err) {
    throw new RulesctlError(ErrorCodes.INDEX_FETCH, `unable to parse index url: "${source.url}"`, { cause: err });
  }
  if (opts.dispatcher !== undefined || opts.httpGet !== undefined || opts.proxyEnv === undefined) return fetchHttp(url.href, opts);
  // Loaded here: commands that read only cached or built-in indexes never load undici.
  const { createDispatcher } = await import('../oci/registry/transport.js');
  const dispatcher = createDispatcher({ env: opts.proxyEnv });
  try {
    return await fetchHttp(url.href, { ...opts, dispatcher });
  } finally {
    await dispatcher.close();
  }
}

