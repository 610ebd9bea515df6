import { describe, expect, it } from 'vitest';
import { resolveDependencies } from '../../../src/resolve/dependencies.js';
import { resolversFor, root, type Graph } from './_graph.js';

const summary = (r: { artifacts: { name: string; version: string }[] }) => r.artifacts.map((a) => `${a.name}@${a.version}`);

const plugins: Graph = {
  json: { '0.6.0': [], '0.7.0': [], '0.7.3': [], '0.8.1': [], '1.0.0': [], '0.9.0-rc1': [] },
  cloudtrail: { '0.10.0': [], '0.12.4': [], '1.0.0': [] },
  'cloudtrail-rules': { '0.12.0': ['cloudtrail:0.10.0', 'json:0.7.0'] },
  k8saudit: { '0.7.0': [], '0.8.0': [], '0.9.2': [] },
  'k8saudit-eks': { '0.5.0': [], '0.6.0': [] },
  'k8saudit-rules': { '0.7.0': ['k8saudit:0.8.0'], '0.8.0': ['k8saudit:0.7.0|k8saudit-eks:0.5.0'] },
};

describe('resolveDependencies: table', () => {
  it.each<{ title: string; graph: Graph; roots: [string, string][]; expected: string[]; withVersions?: boolean }>([
    { title: 'chain: highest compatible version of each dependency, dependencies first',
      graph: plugins, roots: [['cloudtrail-rules', '0.12.0']], expected: ['cloudtrail@0.12.4', 'json@0.8.1', 'cloudtrail-rules@0.12.0'] },
    { title: 'falcoctl rule without a tag list: the exact minimum',
      graph: plugins, roots: [['cloudtrail-rules', '0.12.0']], withVersions: false, expected: ['cloudtrail@0.10.0', 'json@0.7.0', 'cloudtrail-rules@0.12.0'] },
    { title: 'an explicitly requested dependency at a compatible version wins',
      graph: plugins, roots: [['json', '0.7.3'], ['cloudtrail-rules', '0.12.0']], expected: ['json@0.7.3', 'cloudtrail@0.12.4', 'cloudtrail-rules@0.12.0'] },
    { title: 'an already chosen alternative satisfies the dependency',
      graph: plugins, roots: [['k8saudit-eks', '0.6.0'], ['k8saudit-rules', '0.8.0']], expected: ['k8saudit-eks@0.6.0', 'k8saudit-rules@0.8.0'] },
    { title: 'alternatives not chosen: the main dependency is used',
      graph: plugins, roots: [['k8saudit-rules', '0.8.0']], expected: ['k8saudit@0.9.2', 'k8saudit-rules@0.8.0'] },
    { title: 'nested chain, shared dependency resolved once',
      graph: { app: { '1.0.0': ['a:1.0.0', 'b:1.0.0'] }, a: { '1.0.0': ['c:1.1.0'] }, b: { '1.0.0': ['c:1.0.0'] }, c: { '1.0.0': [], '1.1.0': [], '1.4.0': [], '2.0.0': [] } },
      roots: [['app', '1.0.0']], expected: ['c@1.4.0', 'a@1.0.0', 'b@1.0.0', 'app@1.0.0'] },
    { title: 'cycle with agreeing versions',
      graph: { a: { '1.0.0': ['b:1.0.0'] }, b: { '1.0.0': ['a:1.0.0'] } }, roots: [['a', '1.0.0']], expected: ['b@1.0.0', 'a@1.0.0'] },
    { title: 'cycle between dependencies',
      graph: { r: { '1.0.0': ['a:1.0.0'] }, a: { '1.0.0': ['b:1.0.0'] }, b: { '1.0.0': ['a:1.0.0'] } }, roots: [['r', '1.0.0']], expected: ['b@1.0.0', 'a@1.0.0', 'r@1.0.0'] },
    { title: 'falcoctl rule: the highest stated minimum wins, orphans of the replaced version are dropped',
      graph: { r1: { '1.0.0': ['x:1.0.0'] }, r2: { '1.0.0': ['m:1.0.0'] }, m: { '1.0.0': ['x:1.1.0'] }, x: { '1.0.0': ['y:1.0.0'], '1.1.0': [] }, y: { '1.0.0': [] } },
      roots: [['r1', '1.0.0'], ['r2', '1.0.0']], withVersions: false, expected: ['x@1.1.0', 'r1@1.0.0', 'm@1.0.0', 'r2@1.0.0'] },
  ])('$title', async ({ graph, roots, expected, withVersions }) => {
    const r = await resolveDependencies(roots.map(([n, v]) => root(n, v)), resolversFor(graph, { withVersions }));
    expect(summary(r)).toEqual(expected);
  });
});

it('drops what only a replaced version needed (and did load it first)', async () => {
  const graph: Graph = { r1: { '1.0.0': ['x:1.0.0'] }, r2: { '1.0.0': ['m:1.0.0'] }, m: { '1.0.0': ['x:1.1.0'] }, x: { '1.0.0': ['y:1.0.0'], '1.1.0': [] }, y: { '1.0.0': [] } };
  const resolvers = resolversFor(graph, { withVersions: false });
  const r = await resolveDependencies([root('r1', '1.0.0'), root('r2', '1.0.0')], resolvers);
  expect(resolvers.calls).toContain('config reg.io/y:1.0.0');
  expect(r.artifacts.map((a) => a.name)).not.toContain('y');
  expect(r.artifacts.find((a) => a.name === 'x')!.requiredBy).toEqual(['r1 1.0.0 needs x ^1.0.0', 'm 1.0.0 needs x ^1.1.0']);
});

describe('resolveDependencies: conflicts carry the whole chain', () => {
  it('a dependent needing another version of a pinned root', async () => {
    await expect(resolveDependencies([root('k8saudit', '0.7.0'), root('k8saudit-rules', '0.7.0')], resolversFor(plugins))).rejects.toMatchObject({
      code: 'ERR_DEPENDENCY_CONFLICT',
      message: 'cannot satisfy dependencies: k8saudit-rules 0.7.0 needs k8saudit >=0.8.0 <1.0.0 (chain: k8saudit-rules 0.7.0 (requested as k8saudit-rules:0.7.0)), but k8saudit 0.7.0 is pinned by the command line (k8saudit:0.7.0)',
    });
  });

  it('two dependents needing different majors, deep in the graph', async () => {
    const graph: Graph = { app: { '1.0.0': ['lib-a:1.0.0', 'lib-b:1.0.0'] }, 'lib-a': { '1.0.0': ['json:1.0.0'] }, 'lib-b': { '1.0.0': ['json:2.0.0'] }, json: { '1.0.0': [], '1.3.0': [], '2.0.0': [] } };
    const err = (await resolveDependencies([root('app', '1.0.0')], resolversFor(graph)).catch((e: Error) => e)) as Error;
    expect(err.message).toBe('cannot satisfy dependencies: lib-b 1.0.0 needs json ^2.0.0 (chain: app 1.0.0 (requested as app:1.0.0) → lib-b 1.0.0), '
      + 'but json 1.3.0 is required by lib-a 1.0.0 (needs json ^1.0.0; chain: app 1.0.0 (requested as app:1.0.0) → lib-a 1.0.0), '
      + 'and no version satisfies all of them (available: 1.0.0, 1.3.0, 2.0.0)');
    expect(err).toMatchObject({ details: { name: 'json', wanted: '2.0.0', existing: '1.3.0', requiredBy: 'lib-b 1.0.0' } });
  });

  it('a cycle that disagrees with a pinned root', async () => {
    const graph: Graph = { a: { '1.0.0': ['b:1.0.0'] }, b: { '1.0.0': ['a:2.0.0'] } };
    await expect(resolveDependencies([root('a', '1.0.0')], resolversFor(graph))).rejects.toThrow(
      'b 1.0.0 needs a ^2.0.0 (chain: a 1.0.0 (requested as a:1.0.0) → b 1.0.0), but a 1.0.0 is pinned by the command line (a:1.0.0)');
  });

  it('no version in range', async () => {
    const graph: Graph = { r: { '1.0.0': ['json:0.9.0'] }, json: { '0.7.0': [], '0.9.0-rc1': [] } };
    await expect(resolveDependencies([root('r', '1.0.0')], resolversFor(graph))).rejects.toThrow(
      'r 1.0.0 needs json >=0.9.0 <1.0.0 (chain: r 1.0.0 (requested as r:1.0.0)), but no version of json satisfies it (available: 0.7.0, 0.9.0-rc1)');
  });
});

describe('resolveDependencies: roots, reasons, errors', () => {
  it('keeps the highest of duplicate roots, with a warning per discarded one', async () => {
    const graph: Graph = { a: { '1.0.0': [], '1.2.0': [], '1.1.0': [] } };
    const r = await resolveDependencies([root('a', '1.0.0'), root('a', '1.2.0'), root('a', '1.1.0')], resolversFor(graph));
    expect(summary(r)).toEqual(['a@1.2.0']);
    expect(r.warnings).toEqual([
      'a: reg.io/a:1.0.0 (1.0.0) discarded, keeping the higher reg.io/a:1.2.0 (1.2.0)',
      'a: reg.io/a:1.1.0 (1.1.0) discarded, keeping the higher reg.io/a:1.2.0 (1.2.0)',
    ]);
  });

  it('explains each choice', async () => {
    const r = await resolveDependencies([root('cloudtrail-rules', '0.12.0')], resolversFor(plugins));
    const json = r.artifacts.find((a) => a.name === 'json')!;
    expect(json).toMatchObject({ ref: 'reg.io/json:0.8.1', requested: false, reason: 'the highest version in range for json >=0.7.0 <1.0.0', requiredBy: ['cloudtrail-rules 0.12.0 needs json >=0.7.0 <1.0.0'] });
    expect(r.artifacts.at(-1)).toMatchObject({ requested: true, reason: 'requested as cloudtrail-rules:0.12.0', dependencies: ['cloudtrail', 'json'] });
  });

  it('--resolve-deps=false returns the roots only, without fetching dependencies', async () => {
    const resolvers = resolversFor(plugins);
    const r = await resolveDependencies([root('cloudtrail-rules', '0.12.0')], { ...resolvers, resolveDeps: false });
    expect(summary(r)).toEqual(['cloudtrail-rules@0.12.0']);
    expect(r.artifacts[0]!.dependencies).toEqual([]);
    expect(resolvers.calls).toEqual(['config reg.io/cloudtrail-rules:0.12.0']);
  });

  it('rejects versions that are not semver', async () => {
    const bad = resolversFor({ r: { '1.0.0': ['json:latest'] } });
    await expect(resolveDependencies([root('r', '1.0.0')], bad)).rejects.toMatchObject({ code: 'ERR_INVALID_CONFIG', message: 'r 1.0.0 declares dependency "json": "latest" is not a semver version' });
    const noVersion = { ...bad, fetchConfig: async () => ({ name: 'r', version: '' }) };
    await expect(resolveDependencies([root('r', '1.0.0')], noVersion)).rejects.toThrow('empty version for ref "reg.io/r:1.0.0": config may be corrupted');
    const banana = { ...bad, fetchConfig: async () => ({ name: 'r', version: 'banana' }) };
    await expect(resolveDependencies([root('r', '1.0.0')], banana)).rejects.toThrow('version of "reg.io/r:1.0.0": "banana" is not a semver version');
  });

  it('names the dependent when a dependency cannot be resolved (spec §7.6)', async () => {
    const r = resolversFor({ r: { '1.0.0': ['ghost:1.0.0'] }, ghost: { '1.0.0': [] } });
    const failing = { ...r, resolveRef: async () => { throw new Error('cannot find ghost:1.0.0 among the configured indexes'); } };
    await expect(resolveDependencies([root('r', '1.0.0')], failing)).rejects.toThrow(
      'unable to resolve reference for dependency "ghost" required by "r": cannot find ghost:1.0.0 among the configured indexes');
  });

  it('parses config versions tolerantly (v1.2 → 1.2.0)', async () => {
    const r = resolversFor({});
    const out = await resolveDependencies([{ ref: 'reg.io/x:1' }], { ...r, fetchConfig: async () => ({ name: 'x', version: 'v1.2' }) });
    expect(summary(out)).toEqual(['x@1.2.0']);
  });
});
