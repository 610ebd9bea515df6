/**
 * Real `docker-registry` 2.8.2 processes for integration tests (spec: ../shared/spec/test-registry.md §0–§7).
 *
 * `getRegistries()` returns the four shared registries the global setup started (`open`, `basic`,
 * `token`, `tls`); `startRegistry()` starts a private one (proxy mode, one to stop mid-test, …).
 * Shared registries are used concurrently by parallel test files: always use `uniqueRepo()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpGet } from 'node:http';
import { request as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import {
  countTokenRequests, createTokenCerts, fetchTokenRecords, startTokenIssuer,
  type TokenIssuer, type TokenIssuerOptions, type TokenRequestRecord,
} from './token-issuer.js';

export type RegistryName = 'open' | 'basic' | 'token' | 'tls';

/** One line of the registry's access log (its stdout, combined log format). */
export interface AccessLogEntry {
  method: string;
  /** Request target as sent, query included. */
  path: string;
  status: number;
  bytes: number;
  userAgent: string;
  raw: string;
}

/** A token issuer as seen from a test; works across processes. */
export interface TestTokenIssuer {
  url: string;
  realm: string;
  service: string;
  /** `/token` requests so far, optionally only those naming `repository` in a scope, or from `user` (`null`: anonymous). */
  requestCount(filter?: { repository?: string; user?: string | null }): Promise<number>;
  requests(): Promise<TokenRequestRecord[]>;
}

/** JSON-safe description of a running registry (what the global setup `provide`s). */
export interface RegistryInfo {
  name: string;
  /** `127.0.0.1:<port>` */
  host: string;
  /** `http://…` or `https://…`, no trailing slash. */
  url: string;
  plainHttp: boolean;
  username?: string;
  password?: string;
  /** Pull-only user (token registry: reader/r). */
  readOnly?: { username: string; password: string };
  /** PEM CA that signed the server certificate (tls registry). */
  caFile?: string;
  /** Directory holding `ca.crt`, for skopeo `--cert-dir`. */
  certDir?: string;
  /** Storage root: blobs live at `<rootDir>/docker/registry/v2/blobs/sha256/<hh>/<hex>/data` (§7). */
  rootDir: string;
  /** The registry's temp dir (config, logs, certs). */
  dir: string;
  accessLogFile: string;
  logFile: string;
  tokenIssuerInfo?: { url: string; realm: string; service: string };
}

export interface TestRegistry extends RegistryInfo {
  tokenIssuer?: TestTokenIssuer;
  /** Parsed access log; waits until the file stops growing (the log line is written after the response). */
  accessLog(): Promise<AccessLogEntry[]>;
}

export interface StartRegistryOptions {
  name?: string;
  /** `basic`: htpasswd with `users` (default alice/s3cret). `token`: own issuer unless `token` is given. */
  auth?: 'none' | 'basic' | 'token';
  users?: Record<string, string>;
  /** Use an existing issuer (realm/service/issuer and its cert bundle). */
  token?: { realm: string; service: string; issuer: string; bundleFile: string };
  /** Settings of the private issuer started for `auth: 'token'` without `token` (e.g. a short `expiresIn`). */
  tokenIssuerOptions?: Pick<TokenIssuerOptions, 'expiresIn' | 'users' | 'anonymousActions' | 'service' | 'issuer'>;
  tls?: boolean;
  /** Pull-through cache (§5); the upstream must already answer. */
  proxy?: { remoteurl: string; username?: string; password?: string };
  /** Fixed port (e.g. to restart on the same one); default a free port in 20000–31999. */
  port?: number;
  deleteEnabled?: boolean;
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** Merged over the generated config (top-level keys replace). */
  config?: Record<string, unknown>;
  /** Extra environment (e.g. `SSL_CERT_FILE` for an https proxy upstream, `REGISTRY_*` overrides). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Called when the process exits after it was ready, other than through `stop()`/`restart()`. */
  onUnexpectedExit?: (exit: { code: number | null; signal: NodeJS.Signals | null }) => void;
}

export interface RunningRegistry extends TestRegistry {
  pid: number;
  /** Exit code/signal once the process is gone, `undefined` while it runs. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Stops the process (SIGTERM) and, unless `keepFiles`, removes its temp dir and private issuer. */
  stop(opts?: { keepFiles?: boolean }): Promise<void>;
  /** Stops and starts again on the same port, config and storage. */
  restart(): Promise<void>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    rulesctlRegistries: Record<RegistryName, RegistryInfo>;
  }
}

/** Env var carrying the same JSON as the provided context, for processes without `inject`. */
export const REGISTRIES_ENV = 'RULESCTL_TEST_REGISTRIES';

let cached: Record<RegistryName, TestRegistry> | undefined;

// `vitest` cannot be imported in the global-setup process (it needs a worker state): load it only in workers.
const vitestInject = process.env.VITEST_WORKER_ID ? (await import('vitest')).inject : undefined;

/** The four shared registries; throws when the integration global setup did not run. */
export function getRegistries(): Record<RegistryName, TestRegistry> {
  if (cached) return cached;
  let info: Record<RegistryName, RegistryInfo> | undefined;
  try { info = vitestInject?.('rulesctlRegistries'); } catch { info = undefined; }
  if (!info && process.env[REGISTRIES_ENV]) info = JSON.parse(process.env[REGISTRIES_ENV]) as Record<RegistryName, RegistryInfo>;
  if (!info) throw new Error('getRegistries(): no registries; run this file in the vitest "integration" project (test/global-setup.ts)');
  const names: RegistryName[] = ['open', 'basic', 'token', 'tls'];
  cached = Object.fromEntries(names.map((n) => [n, withFunctions(info[n])])) as Record<RegistryName, TestRegistry>;
  return cached;
}

function withFunctions(info: RegistryInfo): TestRegistry {
  const reg: TestRegistry = { ...info, accessLog: () => readAccessLog(info.accessLogFile) };
  if (info.tokenIssuerInfo) reg.tokenIssuer = issuerClient(info.tokenIssuerInfo);
  return reg;
}

function issuerClient(i: { url: string; realm: string; service: string }): TestTokenIssuer {
  return {
    ...i,
    requests: () => fetchTokenRecords(i.url),
    requestCount: async (filter) => countTokenRequests(await fetchTokenRecords(i.url), filter),
  };
}

let repoCounter = 0;

/** A fresh, valid OCI repository name `<prefix>/<pid>-<n>-<random>`; `prefix` is lowercased and cleaned. */
export function uniqueRepo(prefix: string): string {
  const clean = prefix.toLowerCase().split('/')
    .map((c) => c.replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '').replace(/[._-]{2,}/g, '-'))
    .filter(Boolean).join('/') || 'test';
  repoCounter += 1;
  return `${clean}/${process.pid.toString(36)}-${repoCounter}-${randomBytes(3).toString('hex')}`;
}

/** Path of a blob's `data` file in the registry storage (§7), for corruption tests. */
export function blobPath(reg: { rootDir: string }, digest: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m?.[1]) throw new Error(`blobPath: not a sha256 digest: "${digest}"`);
  return join(reg.rootDir, 'docker/registry/v2/blobs/sha256', m[1].slice(0, 2), m[1], 'data');
}

const LOG_LINE = /^(\S+) \S+ \S+ \[[^\]]+\] "(\S+) (\S+) [^"]*" (\d{3}) (\d+|-) "[^"]*" "([^"]*)"/;

/** Parses an access log file (§0: stdout is the access log, combined format). */
export async function readAccessLog(file: string): Promise<AccessLogEntry[]> {
  let text = await readFile(file, 'utf8').catch(() => '');
  for (let i = 0; i < 20; i++) {
    await sleep(25);
    const again = await readFile(file, 'utf8').catch(() => '');
    if (again === text) break;
    text = again;
  }
  return text.split('\n').flatMap((raw) => {
    const m = LOG_LINE.exec(raw);
    return m ? [{ method: m[2]!, path: m[3]!, status: Number(m[4]), bytes: m[5] === '-' ? 0 : Number(m[5]), userAgent: m[6]!, raw }] : [];
  });
}

/** CA + server cert (SAN IP:127.0.0.1, DNS:localhost, DNS:registry.rulesctl.test for the proxy tests) and a skopeo cert dir, with openssl (§4). */
export async function createTlsCerts(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string; certDir: string }> {
  const f = (n: string): string => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await writeFile(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:registry.rulesctl.test\nextendedKeyUsage=serverAuth\n');
  await Promise.all([
    execa('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=test-registry-ca']),
    execa('openssl', ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']),
  ]);
  await execa('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('san.ext')]);
  await mkdir(f('certs.d'));
  await copyFile(f('ca.crt'), f('certs.d/ca.crt'));
  return { caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key'), certDir: f('certs.d') };
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free port below the ephemeral range (32768+), where TIME-WAIT client sockets cannot block it (§0, pitfall 10). */
export async function pickPort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await portIsFree(port)) return port;
  }
}

/** GET /v2/ status, or null when nothing answers yet. */
function probe(url: string, ca?: Buffer): Promise<number | null> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(`${url}/v2/`, { agent: false, timeout: 1000, ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

interface Prepared {
  dir: string;
  info: RegistryInfo;
  config: Record<string, unknown>;
  env: Record<string, string>;
  ca?: Buffer;
  issuer?: TokenIssuer;
  fixedPort: boolean;
  /** `listening on` is logged at info and debug only. */
  logsListening: boolean;
}

async function prepare(opts: StartRegistryOptions): Promise<Prepared> {
  const name = opts.name ?? 'private';
  const dir = await mkdtemp(join(tmpdir(), `rulesctl-reg-${name.replace(/[^a-z0-9-]/gi, '')}-`));
  const config: Record<string, unknown> = {
    version: '0.1',
    log: { level: opts.logLevel ?? 'info' },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: opts.deleteEnabled ?? true } },
    http: { addr: '', secret: 'rulesctl-test-secret' } as Record<string, unknown>,
  };
  const info: RegistryInfo = {
    name, host: '', url: '', plainHttp: !opts.tls, rootDir: join(dir, 'data'), dir,
    accessLogFile: join(dir, 'access.log'), logFile: join(dir, 'registry.log'),
  };
  const prepared: Prepared = { dir, info, config, env: opts.env ?? {}, fixedPort: opts.port !== undefined, logsListening: true };
  if (opts.auth === 'basic') {
    const users = opts.users ?? { alice: 's3cret' };
    const lines = await Promise.all(Object.entries(users).map(async ([u, p]) => (await execa('htpasswd', ['-Bbn', u, p])).stdout.trim()));
    await writeFile(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    config.auth = { htpasswd: { realm: 'test-realm', path: join(dir, 'htpasswd') } };
    const [first] = Object.entries(users);
    if (first) Object.assign(info, { username: first[0], password: first[1] });
  }
  if (opts.auth === 'token') {
    let token = opts.token;
    if (!token) {
      const certs = await createTokenCerts(dir);
      prepared.issuer = await startTokenIssuer({ ...opts.tokenIssuerOptions, keyFile: certs.keyFile, certFile: certs.certFile });
      token = { realm: prepared.issuer.realm, service: prepared.issuer.service, issuer: prepared.issuer.issuer, bundleFile: certs.bundleFile };
    }
    config.auth = { token: { realm: token.realm, service: token.service, issuer: token.issuer, rootcertbundle: token.bundleFile } };
    Object.assign(info, { username: 'alice', password: 's3cret', readOnly: { username: 'reader', password: 'r' } });
    info.tokenIssuerInfo = { url: token.realm.replace(/\/token$/, ''), realm: token.realm, service: token.service };
  }
  if (opts.tls) {
    const certs = await createTlsCerts(dir);
    (config.http as Record<string, unknown>).tls = { certificate: certs.certFile, key: certs.keyFile };
    Object.assign(info, { caFile: certs.caFile, certDir: certs.certDir });
    prepared.ca = await readFile(certs.caFile);
  }
  if (opts.proxy) config.proxy = opts.proxy;
  Object.assign(config, opts.config ?? {});
  const level = (config.log as { level?: string } | undefined)?.level ?? 'info';
  prepared.logsListening = level === 'info' || level === 'debug';
  return prepared;
}

interface Launched { child: ChildProcess; exit: { code: number | null; signal: NodeJS.Signals | null } | undefined }

async function launch(p: Prepared, port: number, timeoutMs: number): Promise<Launched | 'port-in-use'> {
  const scheme = p.info.plainHttp ? 'http' : 'https';
  Object.assign(p.info, { host: `127.0.0.1:${port}`, url: `${scheme}://127.0.0.1:${port}` });
  (p.config.http as Record<string, unknown>).addr = p.info.host;
  const configFile = join(p.dir, 'config.yml');
  await writeFile(configFile, JSON.stringify(p.config, null, 2)); // JSON is YAML
  const out = openSync(p.info.accessLogFile, 'a');
  const err = openSync(p.info.logFile, 'a');
  const logStart = fstatSync(err).size;
  const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', out, err], env: { ...process.env, ...p.env } });
  closeSync(out);
  closeSync(err);
  const launched: Launched = { child, exit: undefined };
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => { launched.exit = { code, signal }; resolve(); }));
  let spawnError = '';
  child.once('error', (e) => { spawnError = `${e.message}\n`; launched.exit ??= { code: -1, signal: null }; });
  const deadline = Date.now() + timeoutMs;
  while (!launched.exit && Date.now() < deadline) {
    const status = await probe(p.info.url, p.ca);
    // The listening line proves the answer came from this process, not from whoever else holds the port.
    if ((status === 200 || status === 401) && (!p.logsListening || logSince(p.info.logFile, logStart).includes(`listening on ${p.info.host}`))) {
      return launched;
    }
    await Promise.race([sleep(20), exited]);
  }
  const tail = spawnError + logSince(p.info.logFile, logStart).split('\n').slice(-15).join('\n');
  if (launched.exit && /address already in use/.test(tail)) return 'port-in-use';
  if (!launched.exit) { child.kill('SIGKILL'); await exited; }
  throw new Error(`docker-registry "${p.info.name}" on ${p.info.url} did not become ready `
    + `(${launched.exit ? `exit code ${launched.exit.code}` : `no answer in ${timeoutMs} ms`}); log tail:\n${tail}`);
}

function logSince(file: string, start: number): string {
  return readFileSync(file).subarray(start).toString('utf8');
}

async function killChild(l: Launched): Promise<void> {
  if (l.exit) return;
  const gone = new Promise<void>((resolve) => l.child.once('exit', () => resolve()));
  l.child.kill('SIGTERM');
  const t = setTimeout(() => l.child.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(t);
}

/**
 * Starts a `docker-registry serve` on 127.0.0.1 with its own temp dir, fixed `http.secret` and
 * delete enabled, and waits until `GET /v2/` answers 200 or 401. Throws with the log tail when the
 * process exits or does not answer within `readyTimeoutMs` (default 15 s).
 */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const p = await prepare(opts);
  const timeout = opts.readyTimeoutMs ?? 15000;
  let launched: Launched | undefined;
  try {
    for (let attempt = 0; !launched; attempt++) {
      const result = await launch(p, opts.port ?? await pickPort(), timeout);
      if (result !== 'port-in-use') launched = result;
      else if (p.fixedPort || attempt >= 5) throw new Error(`docker-registry "${p.info.name}": port ${p.info.host} stays in use`);
    }
  } catch (err) {
    await p.issuer?.close();
    await rm(p.dir, { recursive: true, force: true });
    throw err;
  }
  let current = launched;
  let stopping = false;
  const watch = (l: Launched): void => {
    l.child.once('exit', (code, signal) => { if (!stopping && l === current) opts.onUnexpectedExit?.({ code, signal }); });
  };
  watch(current);
  const port = Number(p.info.host.split(':')[1]);
  const reg: RunningRegistry = {
    ...withFunctions(p.info),
    pid: current.child.pid ?? -1,
    exited: () => current.exit,
    stop: async (o = {}) => {
      stopping = true;
      await killChild(current);
      if (o.keepFiles) return;
      await p.issuer?.close();
      await rm(p.dir, { recursive: true, force: true });
    },
    restart: async () => {
      stopping = true;
      await killChild(current);
      for (let i = 0; ; i++) {
        const r = await launch(p, port, timeout);
        if (r !== 'port-in-use') { current = r; break; }
        if (i >= 20) throw new Error(`docker-registry "${p.info.name}": cannot rebind ${p.info.host}`);
        await sleep(100);
      }
      stopping = false;
      watch(current);
      reg.pid = current.child.pid ?? -1;
    },
  };
  return reg;
}
