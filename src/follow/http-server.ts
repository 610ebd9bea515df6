import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, RulesctlError } from '../errors.js';
import type { LivenessStatus } from './liveness.js';
import { CONTENT_TYPE } from './metrics.js';

/**
 * The follow sidecar's own HTTP endpoint (optional `--listen`): `GET /healthz` for a Kubernetes
 * liveness probe and `GET /metrics` for Prometheus. Nothing else is served.
 */
export interface FollowServerOptions {
  /** `host:port`, `:port` or `[::1]:port`; port 0 picks a free one. */
  listen: string;
  health: () => LivenessStatus;
  metrics: () => string;
  signal?: AbortSignal;
}

export interface FollowServer {
  /** `http://host:port` actually bound. */
  url: string;
  close(): Promise<void>;
}

/** Splits `host:port`; an empty host means all interfaces. Throws ERR_USAGE. */
export function parseListen(listen: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new RulesctlError(ErrorCodes.USAGE, `invalid listen address "${listen}": expected host:port`, {
      hint: 'for example 127.0.0.1:8766 or :8766',
    });
  }
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

/**
 * Starts the server. `/healthz` answers 200 `{"status":"ok"}` or 503
 * `{"status":"unhealthy","stuck":[{"ref","reason"}]}`; `/metrics` the exposition text.
 * Closes when `signal` aborts. Throws ERR_IO when the address cannot be bound.
 */
export async function startFollowServer(opts: FollowServerOptions): Promise<FollowServer> {
  const { host, port } = parseListen(opts.listen);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/healthz') {
      const status = opts.health();
      const body = status.healthy ? { status: 'ok' } : { status: 'unhealthy', stuck: status.stuck };
      res.writeHead(status.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(opts.metrics());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await listen(server, host, port, opts.listen);
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const close = () => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  opts.signal?.addEventListener('abort', () => void close(), { once: true });
  return { url: `http://${shownHost}:${addr.port}`, close };
}

function listen(server: Server, host: string | undefined, port: number, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(new RulesctlError(ErrorCodes.IO, `cannot listen on "${label}": ${err.message}`, { cause: err })),
    );
    server.listen(port, host, () => resolve());
  });
}
