#!/usr/bin/env node
'use strict';
// The rulesctl executable: compiles the CLI bundle (dist/cli-bundle/main.cjs) with V8's code cache
// and runs it. CommonJS, not ESM: Node's ES module loader costs 2-4 ms more to start.
const { setFlagsFromString } = require('node:v8');

// undici parses HTTP with llhttp compiled to WebAssembly. By default V8 also recompiles that module
// with TurboFan in the background, and the process cannot exit before the job ends: 60-150 ms
// after the last request on this machine, for a parser that is fast enough in its baseline
// (Liftoff) code. Set before anything is compiled: V8 keys its code cache on the flags.
setFlagsFromString('--liftoff-only');

const { loadCli } = require('./code-cache.cjs');

const cli = loadCli(process.argv.slice(2), process.env);
const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => controller.abort(new Error(`received ${sig}`)));
cli.main(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  cwd: process.cwd(),
  signal: controller.signal,
}).then((code) => {
  process.exitCode = code;
});
