import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface IndexServer {
  url: string;
  requests: { path: string; headers: IncomingHttpHeaders }[];
  body: string;
  etag: string;
  close(): Promise<void>;
}

/** A tiny index server on 127.0.0.1: /index.yaml with an ETag, /missing (404), /moved (302). */
export async function startIndexServer(body: string): Promise<IndexServer> {
  const state = { body, etag: '"v1"' };
  const requests: IndexServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    if (req.url === '/moved') {
      res.writeHead(302, { location: '/index.yaml' }).end();
    } else if (req.url === '/index.yaml') {
      if (req.headers['if-none-match'] === state.etag) res.writeHead(304).end();
      else res.writeHead(200, { etag: state.etag, 'content-type': 'application/yaml' }).end(state.body);
    } else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get body() { return state.body; },
    set body(v: string) { state.body = v; },
    get etag() { return state.etag; },
    set etag(v: string) { state.etag = v; },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
