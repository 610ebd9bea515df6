/**
 * Vitest global setup of the `integration` project (style practice 18; spec ../shared/spec/test-registry.md).
 *
 * Starts, concurrently, the four shared `docker-registry` processes on 127.0.0.1 — `open`, `basic`
 * (htpasswd alice/s3cret), `token` (with the token issuer of test/helpers/token-issuer.ts running in
 * this process) and `tls` (HTTPS, CA made with openssl) — and hands their description to tests with
 * `provide('rulesctlRegistries')` and the `RULESCTL_TEST_REGISTRIES` env var. Any registry that cannot
 * start fails the run; one that dies before teardown fails it too.
 */
import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { REGISTRIES_ENV, startRegistry, type RegistryInfo, type RegistryName, type RunningRegistry } from './helpers/registries.js';

const running: RunningRegistry[] = [];
let killOnExit: (() => void) | undefined;

function info(reg: RunningRegistry): RegistryInfo {
  const { accessLog: _a, tokenIssuer: _t, stop: _s, restart: _r, exited: _e, pid: _p, ...rest } = reg;
  return rest;
}

export async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  const onExit = (name: string) => (exit: { code: number | null; signal: string | null }): void => {
    process.stderr.write(`[global-setup] docker-registry "${name}" exited unexpectedly: ${JSON.stringify(exit)}\n`);
  };
  const results = await Promise.allSettled([
    startRegistry({ name: 'open', onUnexpectedExit: onExit('open') }),
    startRegistry({ name: 'basic', auth: 'basic', users: { alice: 's3cret' }, onUnexpectedExit: onExit('basic') }),
    startRegistry({ name: 'token', auth: 'token', onUnexpectedExit: onExit('token') }),
    startRegistry({ name: 'tls', tls: true, onUnexpectedExit: onExit('tls') }),
  ]);
  for (const r of results) if (r.status === 'fulfilled') running.push(r.value);
  // On SIGINT/SIGTERM vitest calls process.exit() and teardown does not run: clean up synchronously.
  killOnExit = () => {
    for (const r of running) {
      try { process.kill(r.pid, 'SIGKILL'); } catch { /* already gone */ }
      rmSync(r.dir, { recursive: true, force: true });
    }
  };
  // Prepended: vitest's own SIGINT/SIGTERM/exit listeners call process.exit(), which skips later listeners.
  const cleanup = killOnExit;
  process.prependOnceListener('exit', cleanup).prependOnceListener('SIGINT', cleanup).prependOnceListener('SIGTERM', cleanup);
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason instanceof Error ? r.reason.message : r.reason)] : []));
  if (failed.length > 0) {
    await teardownAll();
    throw new Error(`integration global setup: ${failed.length} registr${failed.length === 1 ? 'y' : 'ies'} failed to start `
      + `(is docker-registry 2.8 installed? scripts/test.sh installs it):\n${failed.join('\n\n')}`);
  }
  const byName = Object.fromEntries(running.map((r) => [r.name, info(r)])) as Record<RegistryName, RegistryInfo>;
  project.provide('rulesctlRegistries', byName);
  process.env[REGISTRIES_ENV] = JSON.stringify(byName);
  process.stderr.write(`[global-setup] registries ${running.map((r) => `${r.name}=${r.url}`).join(' ')} ready in ${Date.now() - started} ms\n`);
}

async function teardownAll(): Promise<string[]> {
  const crashed = running.filter((r) => r.exited() !== undefined)
    .map((r) => `${r.name} (pid ${r.pid}) exited during the run: ${JSON.stringify(r.exited())}; see ${r.logFile}`);
  await Promise.all(running.map((r) => r.stop({ keepFiles: r.exited() !== undefined })));
  running.length = 0;
  if (killOnExit) process.off('exit', killOnExit).off('SIGINT', killOnExit).off('SIGTERM', killOnExit);
  return crashed;
}

export async function teardown(): Promise<void> {
  const crashed = await teardownAll();
  if (crashed.length > 0) throw new Error(`integration registries died before teardown:\n${crashed.join('\n')}`);
}
