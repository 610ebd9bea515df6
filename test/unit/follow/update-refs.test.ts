import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCachedIndex, resolveFollowTargets } from '../../../src/follow/refs.js';
import { memoryLogger } from '../../../src/log.js';

/** Which signature policy an update gets: by the argument (falcoctl), and for full refs of indexed repositories. */

let home: string;
const entry = (name: string, repository: string, key?: string) =>
  `- name: ${name}\n  type: rulesfile\n  registry: ghcr.io\n  repository: ${repository}\n${key ? `  signature:\n    cosign:\n      key: ${key}\n` : ''}  description: t\n  home: https://x\n  keywords: [t]\n  license: apache-2.0\n  maintainers: [{email: a@b.c, name: t}]\n  sources: [https://x]\n`;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'rulesctl-refs-'));
  mkdirSync(join(home, 'indexes'));
  writeFileSync(join(home, 'indexes', 'main.yaml'), entry('falco-rules', 'falcosecurity/rules/falco-rules', '/keys/cosign.pub') + entry('plain', 'x/plain'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const indexes = [{ name: 'main', url: 'http://127.0.0.1:9/index.yaml' }, { name: 'absent', url: 'http://127.0.0.1:9/other.yaml' }];

describe('resolveFollowTargets', () => {
  it('gives an index name its entry\'s policy, and a full ref the policy of the entry naming its repository', async () => {
    const [byName, full, other, unsigned] = await resolveFollowTargets(
      ['falco-rules:3', 'ghcr.io/falcosecurity/rules/falco-rules:4', 'ghcr.io/someone/else:1', 'plain'],
      { indexes: indexes.slice(0, 1), cacheDir: home },
    );
    expect(byName).toMatchObject({ ref: 'ghcr.io/falcosecurity/rules/falco-rules:3', tagOrDigest: '3', repository: 'ghcr.io/falcosecurity/rules/falco-rules' });
    expect(byName!.signature?.cosign?.key).toBe('/keys/cosign.pub');
    expect(full!.signature?.cosign?.key).toBe('/keys/cosign.pub');
    expect(other!.signature).toBeUndefined();
    expect(unsigned).toMatchObject({ ref: 'ghcr.io/x/plain:latest', tagOrDigest: 'latest' });
    expect(unsigned!.signature?.cosign).toBeUndefined();
  });

  it('follows a reference once when it is given twice, or as an index name and as its full ref, with a warning', async () => {
    const log = memoryLogger();
    const targets = await resolveFollowTargets(
      ['falco-rules:3', 'ghcr.io/someone/else:1', 'ghcr.io/falcosecurity/rules/falco-rules:3', 'falco-rules:3', 'falco-rules:4'],
      { indexes: indexes.slice(0, 1), cacheDir: home, log },
    );
    expect(targets.map((t) => [t.input, t.ref])).toEqual([
      ['falco-rules:3', 'ghcr.io/falcosecurity/rules/falco-rules:3'],
      ['ghcr.io/someone/else:1', 'ghcr.io/someone/else:1'],
      ['falco-rules:4', 'ghcr.io/falcosecurity/rules/falco-rules:4'],
    ]);
    const warns = log.records.filter((r) => r.level === 'warn');
    expect(warns.map((r) => r.fields)).toEqual([
      { ref: 'ghcr.io/falcosecurity/rules/falco-rules:3', kept: 'falco-rules:3', dropped: 'ghcr.io/falcosecurity/rules/falco-rules:3' },
      { ref: 'ghcr.io/falcosecurity/rules/falco-rules:3', kept: 'falco-rules:3', dropped: 'falco-rules:3' },
    ]);
    expect(warns[0]!.msg).toBe('"falco-rules:3" and "ghcr.io/falcosecurity/rules/falco-rules:3" are the same reference ghcr.io/falcosecurity/rules/falco-rules:3; following it once');
  });

  it('keeps a signature policy when only the dropped spelling of a duplicate has one', async () => {
    writeFileSync(join(home, 'indexes', 'main.yaml'), entry('alias', 'x/r') + entry('signed', 'x/r', '/keys/r.pub'));
    const targets = await resolveFollowTargets(['ghcr.io/x/r:1', 'signed:1'], { indexes: indexes.slice(0, 1), cacheDir: home });
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({ input: 'ghcr.io/x/r:1', ref: 'ghcr.io/x/r:1' });
    expect(targets[0]!.signature?.cosign?.key).toBe('/keys/r.pub');
  });

  it('never needs the network for full refs: uncached indexes are skipped', async () => {
    const [t] = await resolveFollowTargets(['reg.example:5000/a/b@sha256:' + 'a'.repeat(64)], { indexes: [{ name: 'absent', url: 'http://127.0.0.1:9/x.yaml' }], cacheDir: home });
    expect(t).toMatchObject({ tagOrDigest: `sha256:${'a'.repeat(64)}`, signature: undefined });
    expect((await loadCachedIndex(indexes, home)).entries.map((e) => e.name)).toEqual(['falco-rules', 'plain']);
  });
});
