// Starts a private Debian `docker-registry` (CNCF distribution 2.8) on 127.0.0.1 for benchmarks
// (recipe: ../shared/spec/test-registry.md §0-1). Open, plain HTTP, delete enabled, no blob
// descriptor cache (so files removed from storage between runs are really gone).
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A free port below 32768 (the ephemeral range here is 32768-60999: test-registry.md §0). */
export async function freePort(lo = 20000, hi = 31999) {
  for (let i = 0; i < 50; i++) {
    const port = lo + Math.floor(Math.random() * (hi - lo));
    const ok = await new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port in 20000-31999');
}

async function ready(url, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const res = await fetch(`${url}/v2/`);
      if (res.status === 200 || res.status === 401) return true;
    } catch { /* not listening yet */ }
    await sleep(50);
  }
  return false;
}

/**
 * Starts the registry with its config, logs and storage under `dir`. Returns
 * `{ host, url, rootDir, pid, stop() }`; `stop()` is idempotent (SIGTERM, then SIGKILL after 3 s).
 */
export async function startRegistry(dir, { readyTimeoutMs = 10_000 } = {}) {
  const rootDir = join(dir, 'data');
  await mkdir(rootDir, { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const config = join(dir, 'config.yml');
    await writeFile(config, [
      'version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true',
      'storage:', '  filesystem:', `    rootdirectory: ${rootDir}`, '  delete:', '    enabled: true',
      'http:', `  addr: ${host}`, '  secret: bench-secret', '',
    ].join('\n'));
    const log = openSync(join(dir, 'registry.log'), 'a');
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', log, log] });
    closeSync(log);
    let exited = false;
    child.once('exit', () => { exited = true; });
    const url = `http://${host}`;
    const stop = async () => {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 3000);
      await gone;
      clearTimeout(t);
    };
    if (await ready(url, readyTimeoutMs)) return { host, url, rootDir, pid: child.pid, stop };
    await stop();
  }
  throw new Error(`docker-registry did not start; see ${join(dir, 'registry.log')}`);
}

/** Storage path of a blob's directory (test-registry.md §7). */
export function blobDir(rootDir, digest) {
  const hex = digest.replace(/^sha256:/, '');
  return join(rootDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex);
}

/** Storage path of a repository's directory (links, uploads, manifests). */
export function repoDir(rootDir, repository) {
  return join(rootDir, 'docker/registry/v2/repositories', repository);
}
