#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { main } from '../dist/cli-bundle/main.js';

// undici parses HTTP with llhttp compiled to WebAssembly. By default V8 also recompiles that module
// with TurboFan in the background, and the process cannot exit before the job ends: 60-150 ms
// after the last request on this machine, for a parser that is fast enough in its baseline
// (Liftoff) code. undici compiles llhttp on its first connection, after this line. bench/install.mjs
// measures the difference.
setFlagsFromString('--liftoff-only');

const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => controller.abort(new Error(`received ${sig}`)));
process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  cwd: process.cwd(),
  signal: controller.signal,
});
