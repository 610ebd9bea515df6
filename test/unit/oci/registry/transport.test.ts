import { Readable } from 'node:stream';
import { MockAgent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createTransport } from '../../../../src/oci/registry/transport.js';

const agents: MockAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

function mock(): MockAgent {
  const agent = new MockAgent();
  agent.disableNetConnect();
  agents.push(agent);
  return agent;
}

function headerOf(headers: unknown, name: string): string | undefined {
  const h = headers as Record<string, string> | string[] | undefined;
  if (Array.isArray(h)) {
    for (let i = 0; i < h.length; i += 2) if (h[i]!.toLowerCase() === name) return h[i + 1];
    return undefined;
  }
  return h?.[name];
}

describe('transport redirects (GHSA-vh4v-2xq2-g5cg)', () => {
  it('drops Authorization when only the port changes, and flags the answer as cross-origin', async () => {
    const agent = mock();
    const seen: (string | undefined)[] = [];
    agent.get('http://127.0.0.1:5000').intercept({ path: '/v2/a/blobs/x', method: 'GET' }).reply((o) => {
      seen.push(headerOf(o.headers, 'authorization'));
      return { statusCode: 307, data: '', responseOptions: { headers: { location: 'http://127.0.0.1:5001/storage/x?sig=1' } } };
    });
    agent.get('http://127.0.0.1:5001').intercept({ path: '/storage/x?sig=1', method: 'GET' }).reply((o) => {
      seen.push(headerOf(o.headers, 'authorization'));
      return { statusCode: 200, data: 'blob' };
    });
    const t = createTransport({ dispatcher: agent, userAgent: 'rulesctl/test' });
    const res = await t.send({ method: 'GET', url: new URL('http://127.0.0.1:5000/v2/a/blobs/x'), headers: { authorization: 'Basic c2VjcmV0' } });
    expect(await res.body.text()).toBe('blob');
    expect(seen).toEqual(['Basic c2VjcmV0', undefined]);
    expect(res.crossOrigin).toBe(true);
    expect(res.url.href).toBe('http://127.0.0.1:5001/storage/x?sig=1');
  });

  it('keeps Authorization on same-origin redirects and stops after the hop limit', async () => {
    const agent = mock();
    const seen: (string | undefined)[] = [];
    const origin = agent.get('https://r.example');
    origin.intercept({ path: '/a', method: 'GET' }).reply((o) => {
      seen.push(headerOf(o.headers, 'authorization'));
      return { statusCode: 308, data: '', responseOptions: { headers: { location: '/b' } } };
    });
    origin.intercept({ path: '/b', method: 'GET' }).reply((o) => {
      seen.push(headerOf(o.headers, 'authorization'));
      return { statusCode: 200, data: 'ok' };
    });
    const t = createTransport({ dispatcher: agent, userAgent: 'rulesctl/test', maxRedirects: 2 });
    const res = await t.send({ method: 'GET', url: new URL('https://r.example/a'), headers: { authorization: 'Bearer t' } });
    await res.body.dump();
    expect(seen).toEqual(['Bearer t', 'Bearer t']);
    expect(res.crossOrigin).toBe(false);

    origin.intercept({ path: /\/loop/, method: 'GET' }).reply(302, '', { headers: { location: '/loop' } }).persist();
    await expect(t.send({ method: 'GET', url: new URL('https://r.example/loop'), headers: {} })).rejects.toMatchObject({ code: 'ERR_TOO_MANY_REDIRECTS' });
  });

  it('never replays a stream body on a 307', async () => {
    const agent = mock();
    agent.get('https://r.example').intercept({ path: '/up', method: 'PUT' }).reply(307, '', { headers: { location: 'https://other.example/up' } });
    const t = createTransport({ dispatcher: agent, userAgent: 'rulesctl/test' });
    await expect(t.send({ method: 'PUT', url: new URL('https://r.example/up'), headers: {}, body: Readable.from([Buffer.from('x')]) }))
      .rejects.toMatchObject({ code: 'ERR_REGISTRY', message: expect.stringContaining('cannot be replayed') });
  });
});
