/**
 * A loopback forward proxy (CONNECT tunnels and absolute-URI requests) that records the
 * `host:port` of everything it carried, for tests of HTTP_PROXY/HTTPS_PROXY/NO_PROXY handling.
 * rulesctl, like Go, never proxies localhost or loopback addresses: tests name a local server
 * `<anything>.rulesctl.test:<port>` ({@link viaProxyName}), which only this proxy resolves (to 127.0.0.1).
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ForwardProxy {
  /** `http://127.0.0.1:<port>`, for HTTP_PROXY/HTTPS_PROXY. */
  url: string;
  /** `host:port` (absolute-URI requests: the URL's host) of each request or tunnel, in order. */
  targets: string[];
  close(): Promise<void>;
}

/** The name of the local `host:port` (127.0.0.1, localhost) that only the test proxy resolves. */
export function viaProxyName(hostPort: string, name = 'registry'): string {
  return `${name}.rulesctl.test:${hostPort.slice(hostPort.lastIndexOf(':') + 1)}`;
}

/** Where the proxy connects for `host`: `*.rulesctl.test` is this machine. */
const resolve = (host: string): string => (host.endsWith('.rulesctl.test') ? '127.0.0.1' : host);

export async function startForwardProxy(): Promise<ForwardProxy> {
  const targets: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const target = new URL(req.url!);
    targets.push(target.host);
    const up = httpRequest({ host: resolve(target.hostname), port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connect', (req, socket: Socket, head) => {
    targets.push(req.url!);
    const [host, port] = req.url!.split(':');
    const up = connect(Number(port), resolve(host!), () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    for (const s of [up, socket]) {
      sockets.add(s);
      s.on('error', () => { up.destroy(); socket.destroy(); });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    targets,
    close: () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
