/**
 * Per-reference follow metrics in the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format), served on
 * `/metrics` by http-server.ts. registries.md §1.I item 7 ("say what happened").
 */

/** What followers and the injected registry/update functions report. */
export interface FollowMetricsSink {
  /** A check (HEAD) finished at `at` (epoch ms), whatever its result. */
  checked(ref: string, at: number): void;
  /** The reference is in sync with the registry at `at`; `digest` is what is on disk. */
  succeeded(ref: string, at: number, digest: string): void;
  /** A new digest was placed. */
  updated(ref: string, digest: string): void;
  failed(ref: string, reason: string): void;
  requests(ref: string, n?: number): void;
  bytesPulled(ref: string, n: number): void;
  /** The digest currently on disk (seeded from the state file). */
  setDigest(ref: string, digest: string): void;
}

export interface FollowMetrics extends FollowMetricsSink {
  /** The whole exposition, `# HELP`/`# TYPE` per family, ending with a newline. */
  render(): string;
}

interface RefMetrics {
  lastCheck?: number;
  lastSuccess?: number;
  digest?: string;
  updates: number;
  failures: Map<string, number>;
  requests: number;
  bytes: number;
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** In-memory registry of the follow metrics; refs appear in the order first seen. */
export function createFollowMetrics(): FollowMetrics {
  const refs = new Map<string, RefMetrics>();
  const of = (ref: string): RefMetrics => {
    let m = refs.get(ref);
    if (!m) refs.set(ref, (m = { updates: 0, failures: new Map(), requests: 0, bytes: 0 }));
    return m;
  };
  return {
    checked: (ref, at) => void (of(ref).lastCheck = at),
    succeeded: (ref, at, digest) => {
      of(ref).lastSuccess = at;
      of(ref).digest = digest;
    },
    updated: (ref, digest) => {
      of(ref).updates++;
      of(ref).digest = digest;
    },
    failed: (ref, reason) => {
      const f = of(ref).failures;
      f.set(reason, (f.get(reason) ?? 0) + 1);
    },
    requests: (ref, n = 1) => void (of(ref).requests += n),
    bytesPulled: (ref, n) => void (of(ref).bytes += n),
    setDigest: (ref, digest) => void (of(ref).digest = digest),
    render: () => renderMetrics(refs),
  };
}

function renderMetrics(refs: Map<string, RefMetrics>): string {
  const out: string[] = [];
  const family = (name: string, type: 'gauge' | 'counter', help: string, rows: string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows);
  };
  const each = (fn: (ref: string, m: RefMetrics) => string | string[] | undefined) =>
    [...refs].flatMap(([ref, m]) => fn(ref, m) ?? []);
  const seconds = (ms: number) => String(ms / 1000);
  family('rulesctl_follow_artifact_info', 'gauge', 'Digest currently installed for the followed reference.', each((ref, m) =>
    m.digest === undefined ? undefined : `rulesctl_follow_artifact_info${labels({ ref, digest: m.digest })} 1`));
  family('rulesctl_follow_last_check_timestamp_seconds', 'gauge', 'Unix time of the last registry check.', each((ref, m) =>
    m.lastCheck === undefined ? undefined : `rulesctl_follow_last_check_timestamp_seconds${labels({ ref })} ${seconds(m.lastCheck)}`));
  family('rulesctl_follow_last_success_timestamp_seconds', 'gauge', 'Unix time the reference was last known in sync with the registry.', each((ref, m) =>
    m.lastSuccess === undefined ? undefined : `rulesctl_follow_last_success_timestamp_seconds${labels({ ref })} ${seconds(m.lastSuccess)}`));
  family('rulesctl_follow_updates_total', 'counter', 'New artifact versions placed.', each((ref, m) =>
    `rulesctl_follow_updates_total${labels({ ref })} ${m.updates}`));
  family('rulesctl_follow_failures_total', 'counter', 'Failed checks or updates, by reason.', each((ref, m) =>
    [...m.failures].map(([reason, n]) => `rulesctl_follow_failures_total${labels({ ref, reason })} ${n}`)));
  family('rulesctl_follow_registry_requests_total', 'counter', 'HTTP requests sent to the registry.', each((ref, m) =>
    `rulesctl_follow_registry_requests_total${labels({ ref })} ${m.requests}`));
  family('rulesctl_follow_pulled_bytes_total', 'counter', 'Bytes downloaded from the registry.', each((ref, m) =>
    `rulesctl_follow_pulled_bytes_total${labels({ ref })} ${m.bytes}`));
  return `${out.join('\n')}\n`;
}

/** `{a="x",b="y"}` with `\`, `"` and newline escaped as the exposition format requires. */
export function labels(values: Record<string, string>): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{${Object.entries(values).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;
}
