import { describe, expect, it } from 'vitest';
import { loadMergedIndex, mergeIndexes } from '../../../src/index/cache.js';
import type { IndexEntry } from '../../../src/index/index-file.js';
import { scoreName, searchIndex } from '../../../src/index/search.js';

const builtin = await loadMergedIndex([]);
const names = (kws: string[], opts = {}) => searchIndex(builtin, kws, opts).map((r) => [r.entry.name, Number(r.score.toFixed(4))]);

describe('scoreName (hand-computed)', () => {
  it.each([
    ['json', 'json', 1],
    ['json', 'JSON', 1], // lowercased before comparing
    ['k8saudit', 'k8saudi', 7 / 8], // one deletion, L = 8
    ['cloudtrail', 'cloudtrial', 8 / 10], // a transposition costs two substitutions
    ['dummy_c', 'dummy', 5 / 7],
    ['falco-rules', 'falco', 5 / 11], // six deletions, L = 11
    ['k8saudit-aks', 'k8saudit', 8 / 12],
    ['okta', 'abc', 0], // distance 4 (3 substitutions + 1 deletion) = L
    ['é', 'e', 0], // bytes: c3 a9 vs 65, distance 2, L = 2
  ])('score(%j, %j) = %d', (name, kw, expected) => {
    expect(scoreName(name, kw)).toBeCloseTo(expected, 12);
  });
  it('two empty strings score NaN (never a match)', () => {
    expect(scoreName('', '')).toBeNaN();
  });
});

describe('searchIndex over the built-in index', () => {
  it('matches names at the 0.65 threshold, ordered by score then name', () => {
    expect(names(['k8saudit'])).toEqual([
      ['k8saudit', 1], ['k8saudit-aks', 0.6667], ['k8saudit-eks', 0.6667], ['k8saudit-gke', 0.6667], ['k8saudit-ovh', 0.6667],
      ['k8saudit-rules', 0.5714], ['k8saudit-gke-rules', 0.4444],
    ]);
    expect(names(['cloudtral'])).toEqual([['cloudtrail', 0.9]]);
  });

  it('matches case-sensitive keyword substrings and filters by type', () => {
    expect(names(['aws'])).toEqual([['k8saudit-eks', 0.1667], ['cloudtrail-rules', 0.125], ['cloudtrail', 0.1]]);
    expect(names(['AWS'])).toEqual([]);
    expect(names(['aws'], { type: 'rulesfile' })).toEqual([['cloudtrail-rules', 0.125]]);
    expect(names(['audit', 'json'], { type: 'plugin' }).slice(0, 3)).toEqual([['json', 1], ['gcpaudit', 0.625], ['k8saudit', 0.625]]);
    expect(names(['audit', 'json'], { type: 'plugin' })).toHaveLength(11);
  });

  it('honours --min-score and rejects values outside (0,1]', () => {
    expect(names(['k8saudit'], { minScore: 1 })[0]).toEqual(['k8saudit', 1]);
    expect(names(['k8saudit'], { minScore: 0.9 })).toHaveLength(7); // the others match by keyword
    expect(() => names(['x'], { minScore: 0 })).toThrow('minScore must be a number within (0,1]');
    expect(() => names(['x'], { minScore: 1.5 })).toThrow('minScore must be a number within (0,1]');
  });

  it('reports the source index of each result', () => {
    const e = (name: string): IndexEntry => ({ name, type: 'plugin', registry: 'r', repository: `x/${name}`, description: '', home: '', keywords: [], license: '', maintainers: [], sources: [] });
    const m = mergeIndexes([{ name: 'one', entries: [e('alpha')] }, { name: 'two', entries: [e('alpha2')] }]);
    expect(searchIndex(m, ['alpha']).map((r) => [r.index, r.entry.name])).toEqual([['one', 'alpha'], ['two', 'alpha2']]);
  });
});
