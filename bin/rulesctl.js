#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

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
