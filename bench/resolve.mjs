// Benchmark: dependency resolution of a generated 200-artifact graph (in-memory resolvers).
// Build first (`npx tsc -p .`), then: node bench/resolve.mjs
import { performance } from 'node:perf_hooks';
import { resolveDependencies } from '../dist/resolve/dependencies.js';

const N = 200;
const VERSIONS = ['1.0.0', '1.1.0', '1.2.0', '1.2.1', '2.0.0'];
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

// Artifact i depends on up to 4 artifacts with a higher index (a DAG), some with an alternative.
const graph = new Map();
for (let i = 0; i < N; i++) {
  for (const v of VERSIONS) {
    const deps = [];
    for (let k = 0; k < 4 && i + 1 < N; k++) {
      const j = i + 1 + Math.floor(rand() * Math.min(20, N - i - 1));
      if (deps.some((d) => d.name === `a${j}`)) continue;
      const dep = { name: `a${j}`, version: rand() < 0.5 ? '1.0.0' : '1.1.0' };
      if (rand() < 0.1 && j + 1 < N) dep.alternatives = [{ name: `a${j + 1}`, version: '1.0.0' }];
      deps.push(dep);
    }
    graph.set(`a${i}:${v}`, deps);
  }
}

const resolvers = {
  fetchConfig: async (ref) => {
    const key = ref.slice('reg.io/'.length);
    return { name: key.split(':')[0], version: key.split(':')[1], dependencies: graph.get(key) };
  },
  resolveRef: async (name, version) => ({ ref: `reg.io/${name}:${version}` }),
  listVersions: async () => VERSIONS,
};
const roots = Array.from({ length: 10 }, (_, i) => ({ ref: `reg.io/a${i}:1.2.1` }));

async function time(label, runs, fn) {
  await fn();
  const start = performance.now();
  let out;
  for (let i = 0; i < runs; i++) out = await fn();
  const ms = (performance.now() - start) / runs;
  console.log(`${label.padEnd(48)} ${ms.toFixed(3).padStart(9)} ms/op ${(1000 / ms).toFixed(1).padStart(9)} ops/s`);
  return out;
}

console.log(`node ${process.version}, ${N} artifacts x ${VERSIONS.length} versions, 10 roots`);
const full = await time('resolve (highest compatible, tag lists)', 30, () => resolveDependencies(roots, resolvers));
const { listVersions, ...exact } = resolvers;
const falcoctl = await time('resolve (falcoctl exact-minimum rule)', 30, () => resolveDependencies(roots, exact));
await time('resolve --resolve-deps=false', 30, () => resolveDependencies(roots, { ...resolvers, resolveDeps: false }));
console.log(`resolved ${full.artifacts.length} artifacts (falcoctl rule: ${falcoctl.artifacts.length}); unused: ${typeof listVersions}`);
