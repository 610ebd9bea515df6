/**
 * A loopback HTTP proxy in front of a real registry that injects what a registry cannot produce:
 * 429/5xx answers, connection resets mid-body, stalls, lying `Content-Length`, extra or replaced
 * bytes, cross-origin redirects and redirect loops (style practice 18; spec ../shared/spec/registries.md).
 *
 * Unmatched requests are forwarded unchanged and streamed (uploads, Range). Absolute upstream
 * `Location` headers are rewritten to the proxy. A second listener (the "second origin", on another
 * loopback address) serves upstream content WITHOUT asking for auth, like ghcr.io's blob storage
 * host, and records whether an `Authorization` header reached it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  Agent as HttpAgent, createServer, request as httpRequest, STATUS_CODES,
  type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request as the proxy (or the second origin) saw it. `status` is set once answered (0: no answer). */
export interface RecordedRequest {
  id: string;
  origin: 'proxy' | 'second';
  method: string;
  /** Request target, query included. */
  path: string;
  headers: IncomingHttpHeaders;
  authorization: string | undefined;
  status: number;
  /** `forward` or the kind of the rule that handled it. */
  handledBy: string;
}

/** What a matching rule does. */
export type FaultAction =
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string | Buffer | object }
  /** Forward, send the head and `afterBytes` body bytes, then reset (RST). No `afterBytes`: reset before any answer. */
  | { kind: 'reset'; afterBytes?: number }
  /** `ms`: wait then forward. No `ms`: never answer (after `afterBytes` body bytes if given). */
  | { kind: 'stall'; ms?: number; afterBytes?: number }
  /** Forward with `Content-Length: value` whatever the body is; the connection is closed after the body. */
  | { kind: 'content-length'; value: number }
  /** Forward with `bytes` appended; `Content-Length` counts them unless `keepLength`. */
  | { kind: 'append'; bytes: string | Buffer; keepLength?: boolean }
  /** Forward the upstream head (status/headers unless overridden) with another body. */
  | { kind: 'replace'; body: string | Buffer; status?: number; headers?: Record<string, string> }
  /** Redirect to `location` (default: the second origin, same path and query). */
  | { kind: 'redirect'; status?: 301 | 302 | 303 | 307 | 308; location?: string }
  /** Redirect to this proxy again, forever (a `_hop` query counter changes each time). */
  | { kind: 'redirect-loop'; status?: 301 | 302 | 307 | 308 };

export type FaultRule = FaultAction & {
  /** Case-insensitive method(s); default any. */
  method?: string | string[];
  /** Tested against the path without the query. */
  path: RegExp | string;
  /** Only the first N matches; later requests fall through to the next rule or forwarding. */
  times?: number;
  /** Which listener the rule applies to; default `proxy`. */
  origin?: 'proxy' | 'second';
};

export interface FaultProxyOptions {
  /** `http://host:port` or `https://host:port` of the registry. */
  upstream: string;
  /** Listen address of the proxy; the second origin takes the other of 127.0.0.1 / 127.0.0.2. */
  host?: string;
  secondOriginHost?: string;
  /** CA (PEM file) for an https upstream. */
  caFile?: string;
  /** Credentials the second origin uses towards an auth'd upstream (Basic or Bearer via the challenge). */
  upstreamCredentials?: { username: string; password: string };
}

export interface FaultProxy {
  /** `http://<host>:<port>` */
  url: string;
  /** `<host>:<port>` */
  host: string;
  secondOrigin: { url: string; host: string };
  /** Requests of both listeners, in arrival order. */
  requests: RecordedRequest[];
  setRules(rules: FaultRule[]): void;
  /** TCP connections accepted by the proxy listener since start or the last reset. */
  connections(): number;
  /** Drops the rules, the recorded requests and the connection count. */
  reset(): void;
  close(): Promise<void>;
}

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

interface Ctx {
  opts: FaultProxyOptions;
  upstream: URL;
  agent: HttpAgent;
  ca?: Buffer;
  rules: { rule: FaultRule; hits: number }[];
  requests: RecordedRequest[];
  proxyUrl: string;
  secondUrl: string;
}

function matchRule(ctx: Ctx, origin: 'proxy' | 'second', req: IncomingMessage): FaultRule | undefined {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  for (const entry of ctx.rules) {
    const { rule } = entry;
    if ((rule.origin ?? 'proxy') !== origin) continue;
    if (rule.times !== undefined && entry.hits >= rule.times) continue;
    const methods = rule.method === undefined ? undefined : [rule.method].flat().map((m) => m.toUpperCase());
    if (methods && !methods.includes(req.method ?? 'GET')) continue;
    if (!(typeof rule.path === 'string' ? new RegExp(rule.path) : rule.path).test(path)) continue;
    entry.hits += 1;
    return rule;
  }
  return undefined;
}

function upstreamHeaders(ctx: Ctx, headers: IncomingHttpHeaders, dropAuth: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP.has(k) && v !== undefined) out[k] = v;
  out.host = ctx.upstream.host;
  if (dropAuth) delete out.authorization;
  return out;
}

function sendUpstream(ctx: Ctx, method: string, path: string, headers: OutgoingHttpHeaders, body?: IncomingMessage): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = ctx.upstream.protocol === 'https:' ? httpsRequest : httpRequest;
    const up = request(new URL(path, ctx.upstream), { method, headers, agent: ctx.agent, ...(ctx.ca ? { ca: ctx.ca } : {}) }, resolve);
    up.on('error', reject);
    if (body) {
      body.pipe(up);
      body.once('close', () => { if (!body.complete) up.destroy(); });
    } else up.end();
  });
}

/** Upstream response headers for the client: hop-by-hop removed, absolute upstream Locations pointed at `base`. */
function clientHeaders(ctx: Ctx, res: IncomingMessage, base: string): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i]!;
    let value = res.rawHeaders[i + 1]!;
    if (HOP.has(name.toLowerCase())) continue;
    if (name.toLowerCase() === 'location' && value.startsWith(ctx.upstream.origin)) value = base + value.slice(ctx.upstream.origin.length);
    out.push([name, value]);
  }
  return out;
}

function rawHead(status: number, headers: [string, string][]): string {
  const lines = headers.map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines}Connection: close\r\n\r\n`;
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const setLength = (h: [string, string][], n: number): [string, string][] =>
  [...h.filter(([k]) => k.toLowerCase() !== 'content-length'), ['Content-Length', String(n)]];

/** Streams the upstream head and the first `limit` body bytes raw, then resets or hangs. */
function cutAfter(ctx: Ctx, up: IncomingMessage, socket: Socket, limit: number, then: 'reset' | 'hang', base: string): number {
  socket.write(rawHead(up.statusCode ?? 502, clientHeaders(ctx, up, base)));
  let sent = 0;
  const finish = (): void => {
    up.destroy();
    if (then === 'reset') socket.write('', () => socket.resetAndDestroy());
  };
  if (limit === 0) { finish(); return up.statusCode ?? 0; }
  up.on('data', (chunk: Buffer) => {
    if (sent >= limit) return;
    const part = chunk.subarray(0, limit - sent);
    sent += part.length;
    socket.write(part);
    if (sent >= limit) finish();
  });
  up.on('end', () => { if (sent < limit) finish(); });
  return up.statusCode ?? 0;
}

async function act(ctx: Ctx, rule: FaultRule, req: IncomingMessage, res: ServerResponse, rec: RecordedRequest, base: string): Promise<void> {
  const socket = req.socket;
  const method = req.method ?? 'GET';
  const path = req.url ?? '/';
  switch (rule.kind) {
    case 'respond': {
      const body = rule.body === undefined ? Buffer.alloc(0)
        : Buffer.isBuffer(rule.body) || typeof rule.body === 'string' ? Buffer.from(rule.body) : Buffer.from(JSON.stringify(rule.body));
      req.resume();
      rec.status = rule.status;
      res.writeHead(rule.status, { ...rule.headers, 'content-length': body.length });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }
    case 'redirect':
    case 'redirect-loop': {
      req.resume();
      let location = rule.kind === 'redirect' ? rule.location ?? ctx.secondUrl + path : '';
      if (rule.kind === 'redirect-loop') {
        const u = new URL(path, base);
        u.searchParams.set('_hop', String(Number(u.searchParams.get('_hop') ?? '0') + 1));
        location = u.toString();
      }
      rec.status = rule.status ?? 307;
      res.writeHead(rec.status, { location, 'content-length': 0 });
      res.end();
      return;
    }
    case 'reset':
    case 'stall': {
      if (rule.kind === 'stall' && rule.ms !== undefined) {
        await sleep(rule.ms);
        return forward(ctx, req, res, rec, base);
      }
      if (rule.afterBytes === undefined) {
        req.resume();
        if (rule.kind === 'reset') socket.resetAndDestroy();
        return;
      }
      const up = await sendUpstream(ctx, method, path, upstreamHeaders(ctx, req.headers, false), req);
      rec.status = cutAfter(ctx, up, socket, rule.afterBytes, rule.kind === 'reset' ? 'reset' : 'hang', base);
      return;
    }
    default: {
      const up = await sendUpstream(ctx, method, path, upstreamHeaders(ctx, req.headers, false), req);
      let headers = clientHeaders(ctx, up, base);
      let body = await readAll(up);
      let status = up.statusCode ?? 502;
      if (rule.kind === 'content-length') headers = setLength(headers, rule.value);
      if (rule.kind === 'append') {
        body = Buffer.concat([body, Buffer.from(rule.bytes)]);
        if (!rule.keepLength) headers = setLength(headers, body.length);
      }
      if (rule.kind === 'replace') {
        body = Buffer.from(rule.body);
        status = rule.status ?? status;
        const replaced = new Set(Object.keys(rule.headers ?? {}).map((k) => k.toLowerCase()));
        headers = setLength([...headers.filter(([k]) => !replaced.has(k.toLowerCase())), ...Object.entries(rule.headers ?? {})], body.length);
      }
      rec.status = status;
      socket.write(rawHead(status, headers));
      socket.end(method === 'HEAD' ? Buffer.alloc(0) : body);
    }
  }
}

async function forward(ctx: Ctx, req: IncomingMessage, res: ServerResponse, rec: RecordedRequest, base: string): Promise<void> {
  const up = await sendUpstream(ctx, req.method ?? 'GET', req.url ?? '/', upstreamHeaders(ctx, req.headers, false), req);
  rec.status = up.statusCode ?? 502;
  res.writeHead(rec.status, clientHeaders(ctx, up, base).flat());
  up.pipe(res);
  res.on('close', () => up.destroy());
}

/** Second origin: GET/HEAD from upstream with the proxy's own credentials, never the client's. */
async function serveSecond(ctx: Ctx, req: IncomingMessage, res: ServerResponse, rec: RecordedRequest): Promise<void> {
  const method = req.method ?? 'GET';
  const path = req.url ?? '/';
  req.resume();
  const headers = upstreamHeaders(ctx, req.headers, true);
  let up = await sendUpstream(ctx, method, path, headers);
  const creds = ctx.opts.upstreamCredentials;
  if (up.statusCode === 401 && creds) {
    up.resume();
    headers.authorization = await authorizationFor(up.headers['www-authenticate'] ?? '', creds);
    up = await sendUpstream(ctx, method, path, headers);
  }
  rec.status = up.statusCode ?? 502;
  res.writeHead(rec.status, clientHeaders(ctx, up, ctx.secondUrl).flat());
  up.pipe(res);
}

async function authorizationFor(challenge: string, creds: { username: string; password: string }): Promise<string> {
  const basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  if (!/^bearer /i.test(challenge)) return basic;
  const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  const url = new URL(params.realm ?? '');
  if (params.service) url.searchParams.set('service', params.service);
  if (params.scope) url.searchParams.set('scope', params.scope);
  const res = await fetch(url, { headers: { authorization: basic } });
  const json = (await res.json()) as { token?: string; access_token?: string };
  return `Bearer ${json.token ?? json.access_token ?? ''}`;
}

function handler(ctx: Ctx, origin: 'proxy' | 'second') {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const rec: RecordedRequest = {
      id: randomUUID(), origin, method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers,
      authorization: req.headers.authorization, status: 0, handledBy: 'forward',
    };
    ctx.requests.push(rec);
    const rule = matchRule(ctx, origin, req);
    if (rule) rec.handledBy = rule.kind;
    const base = origin === 'proxy' ? ctx.proxyUrl : ctx.secondUrl;
    const work = rule ? act(ctx, rule, req, res, rec, base)
      : origin === 'proxy' ? forward(ctx, req, res, rec, base) : serveSecond(ctx, req, res, rec);
    work.catch((err: unknown) => {
      rec.status = 502;
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`fault-proxy: upstream failed: ${String(err)}`);
      } else res.destroy();
    });
  };
}

async function listen(server: Server, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return `${address}:${port}`;
}

/** Starts the proxy and its second origin on ephemeral loopback ports. */
export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(opts.upstream);
  const host = opts.host ?? '127.0.0.1';
  const ctx: Ctx = {
    opts, upstream, rules: [], requests: [], proxyUrl: '', secondUrl: '',
    agent: upstream.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }),
    ...(opts.caFile ? { ca: readFileSync(opts.caFile) } : {}),
  };
  const proxy = createServer(handler(ctx, 'proxy'));
  let connections = 0;
  proxy.on('connection', () => { connections++; });
  const second = createServer(handler(ctx, 'second'));
  const proxyHost = await listen(proxy, host);
  const secondHost = await listen(second, opts.secondOriginHost ?? (host === '127.0.0.2' ? '127.0.0.1' : '127.0.0.2'));
  ctx.proxyUrl = `http://${proxyHost}`;
  ctx.secondUrl = `http://${secondHost}`;
  const closeServer = (s: Server): Promise<void> => new Promise((resolve) => { s.close(() => resolve()); s.closeAllConnections(); });
  return {
    url: ctx.proxyUrl, host: proxyHost, secondOrigin: { url: ctx.secondUrl, host: secondHost }, requests: ctx.requests,
    setRules: (rules) => { ctx.rules = rules.map((rule) => ({ rule, hits: 0 })); },
    connections: () => connections,
    reset: () => { ctx.rules = []; ctx.requests.length = 0; connections = 0; },
    close: async () => {
      await Promise.all([closeServer(proxy), closeServer(second)]);
      ctx.agent.destroy();
    },
  };
}
