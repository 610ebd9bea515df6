/**
 * proxyEnv: which requests take HTTP_PROXY/HTTPS_PROXY, by the rules of Go's httpproxy package
 * (what falcoctl does): loopback never, NO_PROXY with `*`, CIDRs, IPs, domains and ports.
 */
import { describe, expect, it } from 'vitest';
import { proxyEnv } from '../../../src/util/proxy-env.js';

const P = 'http://proxy.corp:3128';
const via = (env: Record<string, string>, url: string) => proxyEnv(env).proxyFor(new URL(url));

describe('proxyEnv', () => {
  it('takes HTTPS_PROXY for https and HTTP_PROXY for http, upper case first, empty ignored', () => {
    expect(via({ HTTPS_PROXY: P }, 'https://ghcr.io/v2/')).toBe(P);
    expect(via({ HTTPS_PROXY: P }, 'http://reg:5000/v2/')).toBeUndefined();
    expect(via({ HTTP_PROXY: P }, 'https://ghcr.io/v2/')).toBeUndefined();
    expect(via({ HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2' }, 'https://ghcr.io/')).toBe('http://upper:1');
    expect(via({ HTTPS_PROXY: '', https_proxy: 'http://lower:2' }, 'https://ghcr.io/')).toBe('http://lower:2');
    expect(via({ HTTPS_PROXY: 'proxy.corp:3128' }, 'https://ghcr.io/')).toBe(P);
    expect(proxyEnv({}).any).toBe(false);
    expect(proxyEnv({ NO_PROXY: 'x' }).any).toBe(false);
  });

  it('never proxies localhost or loopback addresses, even without NO_PROXY', () => {
    for (const url of ['http://localhost:8765/versions', 'https://127.0.0.1:5000/', 'http://127.1.2.3/', 'http://[::1]:5000/']) {
      expect(via({ HTTP_PROXY: P, HTTPS_PROXY: P }, url), url).toBeUndefined();
    }
    expect(via({ HTTP_PROXY: P }, 'http://localhost.example.com/')).toBe(P);
  });

  it('honours NO_PROXY: *, CIDRs, IPs with and without port, domains and their subdomains', () => {
    const env = { HTTPS_PROXY: P, HTTP_PROXY: P, NO_PROXY: ' 10.0.0.0/8, 192.168.1.5 ,172.16.0.1:5000, .svc,cluster.local, *.corp.example:8443, [fd00::1]:80, Example.ORG ' };
    const direct = ['https://10.96.0.12/', 'http://192.168.1.5:5000/', 'http://172.16.0.1:5000/', 'http://falco-registry.falco.svc:5000/',
      'https://a.b.cluster.local/', 'https://cluster.local/', 'https://reg.corp.example:8443/', 'http://[fd00::1]/', 'https://example.org/', 'https://sub.example.org/'];
    const proxied = ['https://11.0.0.1/', 'http://192.168.1.6/', 'http://172.16.0.1:5001/', 'https://svc/', 'https://corp.example:8443/',
      'https://reg.corp.example/', 'http://[fd00::1]:8080/', 'https://ghcr.io/', 'https://notexample.org/'];
    for (const url of direct) expect(via(env, url), url).toBeUndefined();
    for (const url of proxied) expect(via(env, url), url).toBe(P);
    expect(via({ HTTPS_PROXY: P, no_proxy: '*' }, 'https://ghcr.io/')).toBeUndefined();
    expect(via({ HTTPS_PROXY: P, NO_PROXY: 'ghcr.io:443' }, 'https://ghcr.io/')).toBeUndefined();
    expect(via({ HTTPS_PROXY: P, NO_PROXY: 'ghcr.io:80' }, 'https://ghcr.io/')).toBe(P);
  });
});
