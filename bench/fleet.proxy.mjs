// A forwarding HTTP proxy that records every request with its wire bytes (request line, headers
// and body both ways), for bench/follow-idle.mjs and bench/fleet.mjs.
import { createServer, request as httpRequest } from 'node:http';

/** A forwarding proxy that counts requests and wire bytes (heads + bodies, both ways). */
export async function startCountingProxy(upstreamUrl) {
  const up = new URL(upstreamUrl);
  const stats = { requests: [], reset() { this.requests = []; } };
  const server = createServer((req, res) => {
    const rec = { method: req.method, path: req.url, status: 0, reqBytes: 0, resBytes: 0 };
    stats.requests.push(rec);
    rec.reqBytes += Buffer.byteLength(`${req.method} ${req.url} HTTP/1.1\r\n`) + rawHeaderBytes(req.rawHeaders);
    const out = httpRequest({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: { ...req.headers, host: up.host } }, (r) => {
      rec.status = r.statusCode;
      rec.resBytes += Buffer.byteLength(`HTTP/1.1 ${r.statusCode} ${r.statusMessage}\r\n`) + rawHeaderBytes(r.rawHeaders);
      res.writeHead(r.statusCode, r.headers);
      r.on('data', (c) => { rec.resBytes += c.length; });
      r.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.on('data', (c) => { rec.reqBytes += c.length; });
    req.pipe(out);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return { host: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, stats, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

function rawHeaderBytes(raw) {
  let n = 2;
  for (let i = 0; i < raw.length; i += 2) n += Buffer.byteLength(`${raw[i]}: ${raw[i + 1]}\r\n`);
  return n;
}

export function classify(r) {
  if (r.path === '/v2/' || r.path === '/v2') return `${r.method} /v2/`;
  const m = /\/(manifests|blobs)\/(sha256:)?/.exec(r.path);
  if (!m) return `${r.method} other`;
  return `${r.method} ${m[1]}${m[2] ? ' by digest' : ' by tag'}`;
}

