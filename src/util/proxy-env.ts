import { BlockList, isIP } from 'node:net';

/**
 * Which proxy a request takes under HTTP_PROXY / HTTPS_PROXY / NO_PROXY, by the rules of Go's
 * golang.org/x/net/http/httpproxy (what falcoctl, and so the Falco chart's users, rely on):
 *
 * - `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http ones (no fallback between them); the upper
 *   case name first, then the lower case one, the first that is not empty. `host:port` means
 *   `http://host:port`.
 * - Never for `localhost` or a loopback address (127.0.0.0/8, ::1), whatever NO_PROXY says.
 * - NO_PROXY, comma-separated, case-insensitive: `*` (nothing is proxied); a CIDR (`10.0.0.0/8`);
 *   an IP, optionally with a port (`10.1.2.3`, `10.1.2.3:5000`, `[::1]:80`); a domain, optionally
 *   with a port: `foo.com` matches foo.com and its subdomains, `.foo.com` and `*.foo.com` only its
 *   subdomains. Ports are compared with the URL's (80/443 when it has none).
 */
export interface ProxyEnv {
  /** The proxy URL for `url`, or undefined to connect directly. */
  proxyFor(url: URL): string | undefined;
  /** Whether any proxy is set at all. */
  readonly any: boolean;
}

interface Matcher {
  match(host: string, port: string, ip: string | undefined): boolean;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** Reads the variables from `env` only (never process.env). */
export function proxyEnv(env: Record<string, string | undefined>): ProxyEnv {
  const first = (...names: string[]) => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  const http = normalizeProxy(first('HTTP_PROXY', 'http_proxy'));
  const https = normalizeProxy(first('HTTPS_PROXY', 'https_proxy'));
  const matchers = parseNoProxy(first('NO_PROXY', 'no_proxy') ?? '');
  return {
    any: http !== undefined || https !== undefined,
    proxyFor(url) {
      const proxy = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
      if (proxy === undefined) return undefined;
      return useProxy(url, matchers) ? proxy : undefined;
    },
  };
}

function normalizeProxy(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
}

/** A URL's host without IPv6 brackets, lower case. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

let loopback: BlockList | undefined;

function isLoopback(ip: string): boolean {
  if (loopback === undefined) {
    loopback = new BlockList();
    loopback.addSubnet('127.0.0.0', 8, 'ipv4');
    loopback.addAddress('::1', 'ipv6');
  }
  return loopback.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
}

function useProxy(url: URL, matchers: { ip: Matcher[]; domain: Matcher[] }): boolean {
  const host = hostOf(url);
  const port = url.port || DEFAULT_PORTS[url.protocol] || '';
  if (host === 'localhost') return false;
  const ip = isIP(host) !== 0 ? host : undefined;
  if (ip !== undefined && isLoopback(ip)) return false;
  if (ip !== undefined && matchers.ip.some((m) => m.match(host, port, ip))) return false;
  return !matchers.domain.some((m) => m.match(host, port, ip));
}

const ALL: Matcher = { match: () => true };

/** `host:port` / `[v6]:port` split as Go's net.SplitHostPort; undefined when `p` is not of that form. */
function splitHostPort(p: string): { host: string; port: string } | undefined {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(p);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2]! };
  const i = p.lastIndexOf(':');
  if (i < 0 || p.indexOf(':') !== i || p.includes('[') || p.includes(']')) return undefined;
  return { host: p.slice(0, i), port: p.slice(i + 1) };
}

function parseNoProxy(value: string): { ip: Matcher[]; domain: Matcher[] } {
  const ip: Matcher[] = [];
  const domain: Matcher[] = [];
  for (const raw of value.split(',')) {
    const p = raw.trim().toLowerCase();
    if (p === '') continue;
    if (p === '*') return { ip: [ALL], domain: [ALL] };
    const cidr = /^(.+)\/(\d{1,3})$/.exec(p);
    if (cidr && isIP(cidr[1]!) !== 0) {
      const type = isIP(cidr[1]!) === 6 ? 'ipv6' : 'ipv4';
      const bits = Number(cidr[2]);
      if (bits <= (type === 'ipv6' ? 128 : 32)) {
        const list = new BlockList();
        list.addSubnet(cidr[1]!, bits, type);
        ip.push({ match: (_h, _p, addr) => addr !== undefined && list.check(addr, isIP(addr) === 6 ? 'ipv6' : 'ipv4') });
      }
      continue;
    }
    const split = splitHostPort(p);
    if (split !== undefined && split.host === '') continue;
    const host = split?.host ?? p;
    const port = split?.port ?? '';
    if (isIP(host) !== 0) {
      const list = new BlockList();
      list.addAddress(host, isIP(host) === 6 ? 'ipv6' : 'ipv4');
      ip.push({ match: (_h, reqPort, addr) => addr !== undefined && list.check(addr, isIP(addr) === 6 ? 'ipv6' : 'ipv4') && (port === '' || port === reqPort) });
      continue;
    }
    const suffix = host.startsWith('*.') ? host.slice(1) : host.startsWith('.') ? host : `.${host}`;
    const exact = !host.startsWith('.') && !host.startsWith('*.');
    domain.push({ match: (reqHost, reqPort) => (reqHost.endsWith(suffix) || (exact && reqHost === suffix.slice(1))) && (port === '' || port === reqPort) });
  }
  return { ip, domain };
}
