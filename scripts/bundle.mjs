#!/usr/bin/env node
// Bundles the CLI (dist/cli/main.js, as tsc compiled it) into one CommonJS file,
// dist/cli-bundle/main.cjs, with commander, js-yaml, semver, undici, tar, execa and cron-parser
// inside; the Sigstore/TUF stack stays in node_modules (required only to verify signatures).
// Commands and tar are still evaluated only when used (esbuild turns `await import()` into lazy
// module initialisers).
//
// Why CommonJS in one file: bin/rulesctl.cjs compiles it with vm.Script and V8's code cache
// (dist/cli-bundle/main.cjs.cache, see bin/code-cache.cjs), which Node 20 offers for scripts only,
// not for ES modules. Why ASCII only: V8 keeps a pure-ASCII source as a one-byte string, read
// without UTF-8 decoding (12 ms for a 2 MB file with a few non-ASCII characters, on this machine).
// Whitespace and syntax are minified (half the bytes to read); names are kept for stack traces.
//
// The file sits two levels under the package root, like dist/cli/*.js, so the paths the code
// builds from import.meta.url (package.json, index/index.yaml) stay right.
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { constants as http2Constants } from 'node:http2';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli-bundle');
const outfile = join(outdir, 'main.cjs');

// undici's HTTP/2 client requires node:http2 when it loads (~2 ms of start-up) although rulesctl
// never allows h2. It reads the protocol constants then and calls http2.connect() only for an h2
// connection: give it the constants and a connect() that requires node:http2 on first use.
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:http2$/ }, (args) => (/undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/.test(args.importer) ? { path: 'lazy-http2', namespace: 'rulesctl' } : undefined));
    b.onLoad({ filter: /^lazy-http2$/, namespace: 'rulesctl' }, () => ({
      loader: 'js',
      contents: `module.exports = { constants: ${JSON.stringify(http2Constants)}, connect: (...args) => require('node:http2').connect(...args) };`,
    }));
    // The same for commander's node:child_process, used only to run executable subcommands
    // (`git-style` commands rulesctl does not have): required on first use.
    b.onResolve({ filter: /^node:child_process$/ }, (args) => (/commander[\\/]lib[\\/]command\.js$/.test(args.importer) ? { path: 'lazy-child-process', namespace: 'rulesctl' } : undefined));
    b.onLoad({ filter: /^lazy-child-process$/, namespace: 'rulesctl' }, () => ({
      loader: 'js',
      contents: "module.exports = { spawn: (...args) => require('node:child_process').spawn(...args) };",
    }));
  },
};
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'dist', 'cli', 'main.js')],
  outfile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['sigstore', '@sigstore/*', 'tuf-js', '@tufjs/*'],
  plugins: [lazyBuiltins],
  define: { 'import.meta.url': '__rulesctl_import_meta_url' },
  banner: { js: 'var __rulesctl_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  charset: 'ascii',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  legalComments: 'none',
});

// esbuild leaves non-ASCII characters in regular expression literals; \uXXXX means the same there
// (and in strings, templates and identifiers).
let code = await readFile(outfile, 'utf8');
code = code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
// vm.Script has no loader for import(): every dynamic import must have become a require.
const dynamicImport = /\bimport\s*\(/.exec(code);
if (dynamicImport !== null) {
  throw new Error(`dist/cli-bundle/main.cjs still has a dynamic import() at ${dynamicImport.index}: ${code.slice(dynamicImport.index - 80, dynamicImport.index + 40)}`);
}
// First line: an id of this build, which bin/code-cache.cjs writes into and checks in every cache.
// V8 itself checks only the source's length, and a cache is bytecode for one exact source.
code = `// rulesctl-bundle ${createHash('sha256').update(code).digest('hex').slice(0, 16)}\n${code}`;
await writeFile(outfile, code);
