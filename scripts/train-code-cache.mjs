#!/usr/bin/env node
// Seeds the CLI's V8 code caches (dist/cli-bundle/main.cjs.*.cache, see bin/code-cache.cjs) after a
// build: runs the real executable for a few offline commands, the demo (install from an OCI layout
// standing in for ghcr.io), then the same install and a pull over HTTP from a read-only registry
// served here on 127.0.0.1 from the demo's layout, so the registry client and undici are in the
// install cache too (RULESCTL_CODE_CACHE=refresh: each run rewrites its command's cache with what
// it loaded plus what it compiled). Part of `npm run build`. Without NODE_OPTIONS: V8
// rejects a cache made under other flags. A failure is reported and leaves the CLI working, only
// slower to start (it compiles from source and writes the cache itself).
import { spawn } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'rulesctl.cjs');
const bundleDir = join(root, 'dist', 'cli-bundle');
const home = mkdtempSync(join(tmpdir(), 'rulesctl-train-'));
const env = { HOME: home, PATH: process.env.PATH ?? '', RULESCTL_CONFIG: join(home, 'falcoctl.yaml'), RULESCTL_CODE_CACHE: 'refresh' };

/** The read side of the distribution API over the demo's layouts (`<root>/<repository>/`). */
function serveLayouts(layoutRoot) {
  const json = (res, status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  return createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v2/') return json(res, 200, {});
    const m = /^\/v2\/(.+)\/(manifests|blobs|tags)\/([^/]+)$/.exec(url.pathname);
    if (m === null) return json(res, 404, { errors: [{ code: 'NAME_UNKNOWN' }] });
    const [, repo, kind, ref] = m;
    const dir = join(layoutRoot, repo);
    try {
      const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
      if (kind === 'tags') return json(res, 200, { name: repo, tags: index.manifests.map((d) => d.annotations?.['org.opencontainers.image.ref.name']).filter(Boolean) });
      const desc = ref.startsWith('sha256:') ? undefined : index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === ref);
      const digest = desc?.digest ?? ref;
      if (!/^sha256:[0-9a-f]{64}$/.test(digest)) return json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
      const path = join(dir, 'blobs', 'sha256', digest.slice(7));
      const bytes = await readFile(path);
      const type = kind === 'blobs' ? 'application/octet-stream' : JSON.parse(bytes.toString('utf8')).mediaType;
      res.writeHead(200, { 'content-type': type, 'content-length': bytes.length, 'docker-content-digest': digest });
      if (req.method === 'HEAD') return res.end();
      createReadStream(path).pipe(res);
    } catch {
      json(res, 404, { errors: [{ code: 'BLOB_UNKNOWN' }] });
    }
  });
}

function run(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    child.on('close', (code) => resolve({ code, out }));
  });
}

const offline = [['--version'], ['--help'], ['artifact', 'list'], ['index', 'list'], ['config']];
let failed = 0;
const check = (what, r) => {
  if (r.code === 0) return true;
  failed++;
  process.stderr.write(`train-code-cache: ${what} exited ${r.code}:\n${r.out.slice(-3000)}\n`);
  return false;
};
try {
  for (const f of readdirSync(bundleDir)) if (f.endsWith('.cache')) rmSync(join(bundleDir, f), { force: true });
  for (const args of offline) check(`rulesctl ${args.join(' ')}`, await run([bin, ...args]));
  const demo = await run([join(root, 'scripts', 'demo.js'), '--keep']);
  const kept = /files under (\S+)/.exec(demo.out)?.[1];
  if (!check('scripts/demo.js', demo) && kept !== undefined) rmSync(kept, { recursive: true, force: true });
  else if (kept !== undefined) {
    const server = serveLayouts(join(kept, 'layout'));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = server.address().port;
      const config = join(home, 'falcoctl.yaml');
      writeFileSync(config, `registry:\n  mirrors:\n    ghcr.io:\n      - http://127.0.0.1:${port}\n`);
      const dirs = ['--rulesfiles-dir', join(kept, 'rules'), '--plugins-dir', join(kept, 'plugins'), '--state-dir', join(home, 'state')];
      for (let i = 0; i < 2; i++) check('rulesctl artifact install (http)', await run([bin, 'artifact', 'install', 'cloudtrail-rules', '--no-verify', ...dirs]));
      mkdirSync(join(home, 'pulled'));
      check('rulesctl registry pull (http)', await run([bin, 'registry', 'pull', `127.0.0.1:${port}/falcosecurity/plugins/ruleset/cloudtrail:latest`, '--plain-http', '--dest-dir', join(home, 'pulled')]));
    } finally {
      server.close();
      rmSync(kept, { recursive: true, force: true });
    }
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
if (failed > 0) process.stderr.write(`train-code-cache: ${failed} runs failed; the CLI works but starts slower\n`);
