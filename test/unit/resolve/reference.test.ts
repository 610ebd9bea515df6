import { describe, expect, it } from 'vitest';
import { loadMergedIndex } from '../../../src/index/cache.js';
import { highestMatchingTag, resolveReference } from '../../../src/resolve/reference.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const TAGS = ['latest', '3', '3.1', '3.0.0', '3.1.0', '3.1.4', '3.2.0', '4.0.0-rc1', '4', '4.0', '4.0.0', 'main'];
const noIndex = () => { throw new Error('index must not be loaded for full refs'); };

describe('resolveReference: full refs never touch the index', () => {
  it.each([
    ['ghcr.io/falcosecurity/rules/falco-rules', 'ghcr.io/falcosecurity/rules/falco-rules:latest'],
    ['ghcr.io/falcosecurity/rules/falco-rules:3', 'ghcr.io/falcosecurity/rules/falco-rules:3'],
    ['myorg/rules:1', 'myorg/rules:1'],
    ['localhost:5000/a/b:0.1.0', 'localhost:5000/a/b:0.1.0'],
    [`ghcr.io/a/b:1.0.0@${DIGEST}`, `ghcr.io/a/b@${DIGEST}`],
  ])('%s → %s', async (input, expected) => {
    const r = await resolveReference(input, { index: noIndex });
    expect(r.ref).toBe(expected);
    expect(r.source).toBe('full');
  });

  it('rejects an invalid full ref with the parser\'s message', async () => {
    await expect(resolveReference('ghcr.io/UPPER/case', { index: noIndex })).rejects.toMatchObject({ code: 'ERR_INVALID_REFERENCE' });
  });
});

describe('resolveReference: index names', () => {
  const index = () => loadMergedIndex([]);
  it.each([
    ['falco-rules', 'ghcr.io/falcosecurity/rules/falco-rules:latest'],
    ['falco-rules:5', 'ghcr.io/falcosecurity/rules/falco-rules:5'],
    ['k8saudit-rules:0.5', 'ghcr.io/falcosecurity/plugins/ruleset/k8saudit:0.5'],
    [`json@${DIGEST}`, `ghcr.io/falcosecurity/plugins/plugin/json@${DIGEST}`],
  ])('%s → %s', async (input, expected) => {
    const r = await resolveReference(input, { index });
    expect(r.ref).toBe(expected);
    expect(r.source).toBe('index');
    expect(r.entry!.name).toBe(input.split(/[:@]/)[0]);
  });

  it('rejects malformed tags and digests after index names', async () => {
    await expect(resolveReference('falco-rules:bad!tag', { index })).rejects.toThrow('invalid reference "falco-rules:bad!tag": "bad!tag" is neither a tag nor a semver range');
    await expect(resolveReference('falco-rules@sha256:abc', { index })).rejects.toMatchObject({ code: 'ERR_INVALID_REFERENCE' });
    expect((await resolveReference('falco-rules:', { index })).ref).toBe('ghcr.io/falcosecurity/rules/falco-rules:latest');
  });

  it('fails on unknown names with a hint', async () => {
    const err = await resolveReference('nope:1', { index }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_UNKNOWN_ARTIFACT', message: 'cannot find nope:1 among the configured indexes' });
    expect((err as { hint: string }).hint).toMatch(/rulesctl artifact search nope.*rulesctl index add/);
  });
});

describe('resolveReference: semver ranges', () => {
  const listTags = async (repo: string) => {
    expect(repo).toBe('ghcr.io/falcosecurity/rules/falco-rules');
    return TAGS;
  };
  const index = () => loadMergedIndex([]);
  it.each([
    ['falco-rules:~3.1', '3.1.4'],
    ['falco-rules:>=3 <4', '3.2.0'],
    ['falco-rules:^3.0.0', '3.2.0'],
    ['falco-rules:<4', '3.2.0'], // 4.0.0-rc1 excluded: prereleases only when named
    ['falco-rules:>=4.0.0-rc1', '4.0.0'],
    ['ghcr.io/falcosecurity/rules/falco-rules:~3.0', '3.0.0'],
  ])('%s → tag %s', async (input, tag) => {
    const r = await resolveReference(input, { index, listTags });
    expect(r.reference.tag).toBe(tag);
    expect(r.range).toEqual({ expression: input.slice(input.lastIndexOf(':') + 1), tag });
  });

  it('keeps partial versions literal when the floating tag exists', async () => {
    expect((await resolveReference('falco-rules:3', { index, listTags })).ref).toBe('ghcr.io/falcosecurity/rules/falco-rules:3');
    expect((await resolveReference('falco-rules:3.1', { index, listTags })).range).toBeUndefined();
    expect((await resolveReference('falco-rules:3.2', { index })).reference.tag).toBe('3.2'); // no tag list: literal
  });

  it('reads an absent partial version as a range when one matches', async () => {
    const r = await resolveReference('falco-rules:3.2', { index, listTags });
    expect(r.reference.tag).toBe('3.2.0');
    expect((await resolveReference('falco-rules:3.x', { index, listTags })).reference.tag).toBe('3.2.0');
    expect((await resolveReference('falco-rules:7', { index, listTags })).reference.tag).toBe('7');
  });

  it('keeps a partial version literal when the tag list cannot be fetched', async () => {
    const failing = async (): Promise<string[]> => { throw new Error('registry down'); };
    expect((await resolveReference('falco-rules:5', { index, listTags: failing })).ref).toBe('ghcr.io/falcosecurity/rules/falco-rules:5');
    await expect(resolveReference('falco-rules:~5.1', { index, listTags: failing })).rejects.toThrow('registry down');
  });

  it('fails when no tag satisfies the range, or no tag list is available', async () => {
    await expect(resolveReference('falco-rules:^9', { index, listTags }))
      .rejects.toThrow('no tag of ghcr.io/falcosecurity/rules/falco-rules satisfies "^9" (versions: 3.0.0, 3.1.0, 3.1.4, 3.2.0, 4.0.0-rc1, 4.0.0)');
    await expect(resolveReference('falco-rules:~3.1', { index })).rejects.toThrow(/needs the registry's tag list/);
  });

  it('highestMatchingTag ignores non-version tags', () => {
    expect(highestMatchingTag(['latest', '1', '1.2', 'v1.3.0', '1.2.9'], '^1')).toBe('1.2.9');
  });
});
