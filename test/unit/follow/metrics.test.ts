import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { parseListen, startFollowServer } from '../../../src/follow/http-server.js';
import { createLiveness } from '../../../src/follow/liveness.js';
import { createFollowMetrics, labels } from '../../../src/follow/metrics.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('metrics text exposition', () => {
  it('renders HELP/TYPE per family and per-ref samples', () => {
    const m = createFollowMetrics();
    m.setDigest('reg/rules:5', D);
    m.checked('reg/rules:5', 1_700_000_000_500);
    m.succeeded('reg/rules:5', 1_700_000_000_500, D);
    m.requests('reg/rules:5');
    m.requests('reg/rules:5', 2);
    m.bytesPulled('reg/rules:5', 1234);
    m.updated('reg/rules:5', D);
    m.failed('reg/rules:5', 'ERR_NETWORK');
    m.failed('reg/rules:5', 'ERR_NETWORK');
    m.failed('reg/rules:5', 'unmet-requirements');
    expect(m.render()).toBe(
      [
        '# HELP rulesctl_follow_artifact_info Digest currently installed for the followed reference.',
        '# TYPE rulesctl_follow_artifact_info gauge',
        `rulesctl_follow_artifact_info{ref="reg/rules:5",digest="${D}"} 1`,
        '# HELP rulesctl_follow_last_check_timestamp_seconds Unix time of the last registry check.',
        '# TYPE rulesctl_follow_last_check_timestamp_seconds gauge',
        'rulesctl_follow_last_check_timestamp_seconds{ref="reg/rules:5"} 1700000000.5',
        '# HELP rulesctl_follow_last_success_timestamp_seconds Unix time the reference was last known in sync with the registry.',
        '# TYPE rulesctl_follow_last_success_timestamp_seconds gauge',
        'rulesctl_follow_last_success_timestamp_seconds{ref="reg/rules:5"} 1700000000.5',
        '# HELP rulesctl_follow_updates_total New artifact versions placed.',
        '# TYPE rulesctl_follow_updates_total counter',
        'rulesctl_follow_updates_total{ref="reg/rules:5"} 1',
        '# HELP rulesctl_follow_failures_total Failed checks or updates, by reason.',
        '# TYPE rulesctl_follow_failures_total counter',
        'rulesctl_follow_failures_total{ref="reg/rules:5",reason="ERR_NETWORK"} 2',
        'rulesctl_follow_failures_total{ref="reg/rules:5",reason="unmet-requirements"} 1',
        '# HELP rulesctl_follow_registry_requests_total HTTP requests sent to the registry.',
        '# TYPE rulesctl_follow_registry_requests_total counter',
        'rulesctl_follow_registry_requests_total{ref="reg/rules:5"} 3',
        '# HELP rulesctl_follow_pulled_bytes_total Bytes downloaded from the registry.',
        '# TYPE rulesctl_follow_pulled_bytes_total counter',
        'rulesctl_follow_pulled_bytes_total{ref="reg/rules:5"} 1234',
        '',
      ].join('\n'),
    );
  });

  it('escapes label values', () => {
    expect(labels({ ref: 'a"b\\c\nd' })).toBe('{ref="a\\"b\\\\c\\nd"}');
  });
});

describe('follow http server', () => {
  it('serves /healthz (200 or 503 naming the stuck ref) and /metrics', async () => {
    let now = 0;
    const liveness = createLiveness({ now: () => now, graceMs: 10, opTimeoutMs: 100 });
    liveness.register('reg/rules:5');
    liveness.busy('reg/rules:5', 'update');
    const metrics = createFollowMetrics();
    metrics.setDigest('reg/rules:5', D);
    const srv = await startFollowServer({ listen: '127.0.0.1:0', health: liveness.status, metrics: metrics.render });
    try {
      const ok = await request(`${srv.url}/healthz`);
      expect(ok.statusCode).toBe(200);
      expect(await ok.body.text()).toBe('{"status":"ok"}');
      now = 500;
      const bad = await request(`${srv.url}/healthz`);
      expect(bad.statusCode).toBe(503);
      expect(await bad.body.json()).toEqual({ status: 'unhealthy', stuck: [{ ref: 'reg/rules:5', reason: 'stuck in update for 1s' }] });
      const m = await request(`${srv.url}/metrics`);
      expect(m.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await m.body.text()).toContain(`rulesctl_follow_artifact_info{ref="reg/rules:5",digest="${D}"} 1`);
      const nf = await request(`${srv.url}/nope`);
      await nf.body.dump();
      expect(nf.statusCode).toBe(404);
    } finally {
      await srv.close();
    }
  });

  it('parses listen addresses', () => {
    expect(parseListen(':8766')).toEqual({ host: undefined, port: 8766 });
    expect(parseListen('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(() => parseListen('localhost')).toThrow(/host:port/);
  });
});
