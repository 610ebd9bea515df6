// Benchmark: `artifact search` over a generated 5,000-entry index, plus parse and serialize of it.
// Build first (`npx tsc -p .`), then: node bench/search.mjs
import { performance } from 'node:perf_hooks';
import { mergeIndexes } from '../dist/index/merged.js';
import { readIndex, serializeIndex } from '../dist/index/index-file.js';
import { searchIndex } from '../dist/index/search.js';

const N = 5000;
const WORDS = ['audit', 'k8s', 'aws', 'cloudtrail', 'json', 'okta', 'github', 'gcp', 'container', 'syscall', 'network', 'kafka'];
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = () => WORDS[Math.floor(rand() * WORDS.length)];

const entries = Array.from({ length: N }, (_, i) => ({
  name: `${pick()}-${pick()}-${i}${i % 3 === 0 ? '-rules' : ''}`,
  type: i % 3 === 0 ? 'rulesfile' : 'plugin',
  registry: 'ghcr.io',
  repository: `org/artifacts/a${i}`,
  description: `Generated artifact number ${i}`,
  home: `https://example.com/a${i}`,
  keywords: [pick(), pick(), pick()],
  license: 'Apache-2.0',
  maintainers: [{ email: 'dev@example.com', name: 'Dev' }],
  sources: [`https://example.com/a${i}/src`],
}));
const index = mergeIndexes([{ name: 'bench', entries }]);

function time(label, runs, fn) {
  fn(); // warm-up
  const start = performance.now();
  let out;
  for (let i = 0; i < runs; i++) out = fn();
  const ms = (performance.now() - start) / runs;
  console.log(`${label.padEnd(44)} ${ms.toFixed(3).padStart(9)} ms/op ${(1000 / ms).toFixed(1).padStart(9)} ops/s`);
  return out;
}

console.log(`node ${process.version}, ${N} entries`);
const r1 = time('search 1 keyword ("cloudtral")', 50, () => searchIndex(index, ['cloudtral']));
const r2 = time('search 3 keywords ("audit","k8s","jsno")', 50, () => searchIndex(index, ['audit', 'k8s', 'jsno']));
time('search 1 keyword, --type rulesfile', 50, () => searchIndex(index, ['okta'], { type: 'rulesfile' }));
const text = time('serializeIndex (5,000 entries)', 20, () => serializeIndex(entries));
time('readIndex (parse + validate)', 10, () => readIndex(text));
console.log(`results: ${r1.length} and ${r2.length} matches; index.yaml ${(text.length / 1024).toFixed(0)} KiB`);
