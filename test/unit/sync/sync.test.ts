import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildArtifact } from '../../../src/artifact/build.js';
import type { ArtifactDependency } from '../../../src/artifact/config.js';
import { pushArtifact } from '../../../src/artifact/push.js';
import { everySchedule } from '../../../src/follow/schedule.js';
import { memoryLogger } from '../../../src/log.js';
import { MemoryStore } from '../../../src/oci/memory/store.js';
import { syncLoop } from '../../../src/sync/loop.js';
import { syncOnce, type SyncArtifact, type SyncDeps } from '../../../src/sync/sync.js';

let dir: string;
let up: Map<string, MemoryStore>;
let down: Map<string, MemoryStore>;
const repoOf = (m: Map<string, MemoryStore>, name: string) => {
  let s = m.get(name);
  if (!s) m.set(name, (s = new MemoryStore({ name })));
  return s;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rulesctl-sync-'));
  up = new Map();
  down = new Map();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function publishRules(repo: string, tag: string, text: string, dependencies?: ArtifactDependency[]): Promise<string> {
  const file = join(dir, 'falco_rules.yaml');
  writeFileSync(file, text);
  const built = await buildArtifact({ type: 'rulesfile', files: [{ path: file }], name: repo, version: '1.0.0', created: '2026-01-01T00:00:00Z', ...(dependencies ? { dependencies } : {}) });
  const res = await pushArtifact(repoOf(up, repo), built, { tags: [tag] });
  await built.dispose();
  return res.rootDigest;
}

async function publishPlugin(repo: string, tag: string): Promise<string> {
  const files = ['amd64', 'arm64'].map((a) => {
    const path = join(dir, `lib-${a}.so`);
    writeFileSync(path, `plugin ${a}`);
    return { path, platform: `linux/${a}` };
  });
  const built = await buildArtifact({ type: 'plugin', files, name: repo, version: tag, created: '2026-01-01T00:00:00Z' });
  const res = await pushArtifact(repoOf(up, repo), built, { tags: [tag] });
  await built.dispose();
  return res.rootDigest;
}

function deps(extra: Partial<SyncDeps> = {}): SyncDeps {
  return {
    source: async (a) => repoOf(up, a.repository),
    destination: async (a) => repoOf(down, a.repository),
    resolveDependency: async (name, version) => ({ registry: 'up', repository: name, tag: version }),
    log: memoryLogger(),
    ...extra,
  };
}
const art = (repository: string, tag: string): SyncArtifact => ({ registry: 'up', repository, tag });

describe('syncOnce', () => {
  it('copies by tag with dependencies (every platform), then only HEADs upstream while unchanged', async () => {
    const pluginDigest = await publishPlugin('plug', '0.2.0');
    const rulesDigest = await publishRules('rules', '3', '- list: l\n  items: []\n', [{ name: 'plug', version: '0.2.0' }]);
    const first = await syncOnce([art('rules', '3')], deps());
    expect(first.map((o) => [o.ref, o.status, o.dependency])).toEqual([['up/rules:3', 'copied', false], ['up/plug:0.2.0', 'copied', true]]);
    expect(down.get('plug')!.tags.get('0.2.0')?.digest).toBe(pluginDigest);
    expect(down.get('plug')!.manifests.size).toBe(3); // index + two platform manifests
    expect(down.get('rules')!.tags.get('3')?.digest).toBe(rulesDigest);

    const src = repoOf(up, 'rules');
    const resolve = vi.spyOn(src, 'resolve');
    const fetch = vi.spyOn(src, 'fetch');
    const fetchManifest = vi.spyOn(src, 'fetchManifest');
    const memory = new Map();
    const second = await syncOnce([art('rules', '3')], deps(), memory);
    expect(second.map((o) => o.status)).toEqual(['unchanged', 'unchanged']);
    expect(resolve).toHaveBeenCalledTimes(1);
    expect(fetch).not.toHaveBeenCalled();
    expect(fetchManifest).not.toHaveBeenCalled();
  });

  it('copies the new version when the upstream tag moves, with the legacy .sig tag when present', async () => {
    await publishRules('rules', 'latest', '- list: a\n  items: []\n');
    await syncOnce([art('rules', 'latest')], deps());
    const d2 = await publishRules('rules', 'latest', '- list: b\n  items: []\n');
    const sigTag = `sha256-${d2.slice(7)}.sig`;
    const sigDigest = await publishRules('rules', sigTag, '- list: sig\n  items: []\n');
    const out = await syncOnce([art('rules', 'latest')], deps());
    expect(out[0]).toMatchObject({ status: 'copied', digest: d2 });
    expect(down.get('rules')!.tags.get('latest')?.digest).toBe(d2);
    expect(down.get('rules')!.tags.get(sigTag)?.digest).toBe(sigDigest);
  });

  it('reports a failed artifact and goes on with the others; an unresolvable dependency is a warning', async () => {
    await publishRules('ok', '1', '- list: a\n  items: []\n', [{ name: 'ghost', version: '1.0.0' }]);
    const log = memoryLogger();
    const out = await syncOnce([art('missing', '1'), art('ok', '1')], deps({ log, resolveDependency: async () => undefined }));
    expect(out.map((o) => [o.ref, o.status])).toEqual([['up/missing:1', 'failed'], ['up/ok:1', 'copied']]);
    expect(log.records.some((r) => r.level === 'warn' && r.fields.dependency === 'ghost:1.0.0')).toBe(true);
  });
});

describe('syncLoop', () => {
  it('passes at once, then per schedule, until the signal aborts', async () => {
    await publishRules('rules', '1', '- list: a\n  items: []\n');
    const ctrl = new AbortController();
    const passes: string[][] = [];
    let t = 0;
    await syncLoop([art('rules', '1')], {
      ...deps(), schedule: everySchedule(1000), signal: ctrl.signal, now: () => t,
      sleep: async (ms) => { t += ms; if (passes.length >= 3) ctrl.abort(); },
      onPass: (o) => passes.push(o.map((x) => x.status)),
    });
    expect(passes).toEqual([['copied'], ['unchanged'], ['unchanged']]);
    expect(t).toBe(3000);
  });
});
