import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCachedIndex, resolveFollowTargets } from '../../../src/follow/refs.js';

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
      ['falco-rules:3', 'ghcr.io/falcosecurity/rules/falco-rules:3', 'ghcr.io/someone/else:1', 'plain'],
      { indexes: indexes.slice(0, 1), cacheDir: home },
    );
    expect(byName).toMatchObject({ ref: 'ghcr.io/falcosecurity/rules/falco-rules:3', tagOrDigest: '3', repository: 'ghcr.io/falcosecurity/rules/falco-rules' });
    expect(byName!.signature?.cosign?.key).toBe('/keys/cosign.pub');
    expect(full!.signature?.cosign?.key).toBe('/keys/cosign.pub');
    expect(other!.signature).toBeUndefined();
    expect(unsigned).toMatchObject({ ref: 'ghcr.io/x/plain:latest', tagOrDigest: 'latest' });
    expect(unsigned!.signature?.cosign).toBeUndefined();
  });

  it('never needs the network for full refs: uncached indexes are skipped', async () => {
    const [t] = await resolveFollowTargets(['reg.example:5000/a/b@sha256:' + 'a'.repeat(64)], { indexes: [{ name: 'absent', url: 'http://127.0.0.1:9/x.yaml' }], cacheDir: home });
    expect(t).toMatchObject({ tagOrDigest: `sha256:${'a'.repeat(64)}`, signature: undefined });
    expect((await loadCachedIndex(indexes, home)).entries.map((e) => e.name)).toEqual(['falco-rules', 'plain']);
  });
});
