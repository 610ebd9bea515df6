#!/usr/bin/env node
// Bundles the CLI (dist/cli/main.js, as tsc compiled it) into dist/cli-bundle/: one module per
// command plus shared chunks, with commander, js-yaml, semver, undici, tar and cron-parser inside.
// Node then resolves and compiles a few files instead of ~100 modules per command: ~70 ms less
// start-up for every command (bench/install.mjs). The library entry (dist/rulesctl.js) is not
// bundled. The Sigstore/TUF stack stays in node_modules (loaded only to verify signatures).
// Chunks sit two levels under the package root, like dist/cli/*.js, so the paths the code builds
// from import.meta.url (package.json, index/index.yaml) stay right.
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli-bundle');
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: join(root, 'dist', 'cli', 'main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  external: ['sigstore', '@sigstore/*', 'tuf-js', '@tufjs/*'],
  // CommonJS dependencies call require() for Node built-ins; ESM output has no require.
  banner: { js: "import { createRequire as __rulesctlCreateRequire } from 'node:module'; const require = __rulesctlCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});
