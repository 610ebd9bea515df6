import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFalcoStandIn, type FalcoStandIn } from '../helpers/falco-stand-in.js';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { BIN, followArgs, followDirs, pushRules, rules, spawnCli } from '../integration/follow/_follow.js';

/** `rulesctl artifact follow` flags, config, policies and users (the built CLI). */

let falco: FalcoStandIn;
beforeAll(async () => {
  falco = await startFalcoStandIn();
});
afterAll(async () => {
  await falco.close();
});

const run = (d: ReturnType<typeof followDirs>, args: string[]) =>
  execa('node', [BIN, '--config', d.config, ...args], { env: { HOME: d.home }, reject: false, timeout: 30_000 });

describe('artifact follow flags', () => {
  it('documents falcoctl\'s flags and defaults plus the rulesctl extras', async () => {
    const d = followDirs();
    const res = await run(d, ['artifact', 'follow', '--help']);
    expect(res.exitCode).toBe(0);
    for (const f of ['--every <duration>', '168h0m0s', '--cron', '--startup-behavior', '"jitter"', '--falco-versions', 'http://localhost:8765/versions',
      '--rulesfiles-dir', '--plugins-dir', '--assets-dir', '--state-dir', '--tmp-dir', '--allowed-types', '--plain-http', '--no-verify', '--timeout', '"2m0s"',
      '--listen', '--health-url', '--reload-signal', '--falco-pid-file']) expect(res.stdout).toContain(f);
  });

  it('refuses --every with --cron (cobra\'s message), a bad startup behaviour, and --reload-signal without a pid file', async () => {
    const d = followDirs();
    const both = await run(d, ['artifact', 'follow', 'x/y:1', '--every', '1h', '--cron', '@daily']);
    expect(both.exitCode).not.toBe(0);
    expect(both.stderr).toContain('if any flags in the group [cron every] are set none of the others can be');
    const bad = await run(d, ['artifact', 'follow', 'x/y:1', '--startup-behavior', 'later']);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/startup-behavior.*skip, jitter, immediate/);
    const sig = await run(d, ['artifact', 'follow', 'x/y:1', '--reload-signal', 'SIGHUP']);
    expect(sig.exitCode).not.toBe(0);
    expect(sig.stderr).toContain('--reload-signal needs --falco-pid-file');
  });

  it('exits 1 with falcoctl\'s message when Falco\'s /versions cannot be read before --timeout', async () => {
    const d = followDirs();
    const res = await run(d, ['artifact', 'follow', 'x/y:1', '--falco-versions', 'http://127.0.0.1:9/versions', '--timeout', '2s']);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain('unable to retrieve Falco versions, please check if it is running and correctly exposing the version endpoint');
  });

  it('serves /healthz and /metrics on --listen, with the current digest per ref', async () => {
    const open = getRegistries().open;
    const repo = uniqueRepo('follow/listen');
    const digest = await pushRules(open.host, repo, '1', rules('m', 2));
    const d = followDirs();
    const ref = `${open.host}/${repo}:1`;
    const f = spawnCli(followArgs(d, falco.versionsUrl, [ref], ['--listen', '127.0.0.1:0']), d);
    const serving = await f.waitFor((l) => l.msg === 'Serving /healthz and /metrics');
    await f.waitFor((l) => l.msg === 'Artifact correctly installed');
    const health = await fetch(`${String(serving.url)}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${String(serving.url)}/metrics`)).text();
    expect(metrics).toContain(digest);
    expect(metrics).toContain(ref);
    f.proc.kill('SIGTERM');
    expect((await f.proc).exitCode).toBe(0);
  });

  it('looks the signature policy up by the index name given (a refusal installs nothing; --no-verify warns and installs)', async () => {
    const open = getRegistries().open;
    const repo = uniqueRepo('follow/policy');
    await pushRules(open.host, repo, '1', rules('signed', 2));
    const d = followDirs(`indexes:\n  - name: test\n    url: http://127.0.0.1:9/index.yaml\n`);
    const key = join(d.root, 'cosign.pub');
    writeFileSync(key, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
    mkdirSync(join(d.home, '.config', 'falcoctl', 'indexes'), { recursive: true });
    writeFileSync(join(d.home, '.config', 'falcoctl', 'indexes', 'test.yaml'),
      `- name: policied\n  type: rulesfile\n  registry: ${open.host}\n  repository: ${repo}\n  signature:\n    cosign:\n      key: ${key}\n  description: t\n  home: https://example.com\n  keywords: [t]\n  license: apache-2.0\n  maintainers: [{email: a@b.c, name: t}]\n  sources: [https://example.com]\n`);
    // The Sigstore root install and follow use (offline here: the conformance root instead of the TUF CDN).
    const root = join(import.meta.dirname, '..', '..', 'fixtures', 'sigstore', 'trusted_root.json');
    const f = spawnCli(followArgs(d, falco.versionsUrl, ['policied:1']), d, { SIGSTORE_ROOT_FILE: root });
    // Unsigned: refused, and tried again later (publishers often sign right after pushing).
    const refused = await f.waitFor((l) => l.level === 'WARN' && l.reason === 'unsigned');
    expect(String(refused.msg)).toMatch(/no signature found/i);
    expect(readdirSync(d.rules)).toEqual([]);
    f.proc.kill('SIGTERM');
    await f.proc;

    const g = spawnCli(followArgs(d, falco.versionsUrl, ['policied:1'], ['--no-verify']), d);
    await g.waitFor((l) => l.level === 'WARN' && l.msg === 'Signature verification skipped (--no-verify)');
    await g.waitFor((l) => l.msg === 'Artifact correctly installed');
    g.proc.kill('SIGTERM');
    expect((await g.proc).exitCode).toBe(0);
    expect(readFileSync(join(d.rules, 'falco_rules.yaml'), 'utf8')).toBe(rules('signed', 2));
  });

  it('runs as an arbitrary non-root UID writing only to its directories (as in OpenShift)', async () => {
    const open = getRegistries().open;
    const repo = uniqueRepo('follow/uid');
    await pushRules(open.host, repo, '1', rules('uid', 2));
    const d = followDirs();
    const asRoot = process.getuid?.() === 0;
    const uid = asRoot ? 54_321 : process.getuid!();
    chmodSync(d.root, 0o755);
    for (const x of [d.rules, d.plugins, d.state, d.tmp]) {
      chmodSync(x, 0o777); // emptyDir
      if (asRoot) chownSync(x, 0, 0);
    }
    chmodSync(d.config, 0o644);
    const p = execa('node', [BIN, '--config', d.config, '--log-format', 'json', ...followArgs(d, falco.versionsUrl, [`${open.host}/${repo}:1`])], {
      env: { HOME: '/nonexistent' }, uid, gid: asRoot ? 54_321 : process.getgid!(), reject: false, timeout: 20_000,
    });
    let out = '';
    p.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
    const end = Date.now() + 15_000;
    while (!out.includes('Artifact correctly installed') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    p.kill('SIGTERM');
    const res = await p;
    expect(out).toContain('Artifact correctly installed');
    expect(res.exitCode).toBe(0);
    expect(readFileSync(join(d.rules, 'falco_rules.yaml'), 'utf8')).toBe(rules('uid', 2));
    expect(readdirSync(d.root).sort()).toEqual(['falcoctl.yaml', 'home', 'plugins', 'rules', 'state', 'tmp']);
  });

  it('accumulates repeated --allowed-types and skips a type that is not allowed', async () => {
    const open = getRegistries().open;
    const repo = uniqueRepo('follow/types');
    await pushRules(open.host, repo, '1', rules('t', 2));
    const d = followDirs();
    const args = followArgs(d, falco.versionsUrl, [`${open.host}/${repo}:1`]).filter((a, i, all) => a !== '--allowed-types' && all[i - 1] !== '--allowed-types');
    const f = spawnCli([...args, '--allowed-types', 'plugin', '--allowed-types', 'asset'], d);
    const warn = await f.waitFor((l) => l.level === 'WARN' && /type not permitted|not permitted/.test(String(l.msg)));
    expect(warn.reason).toBe('type-not-allowed');
    f.proc.kill('SIGTERM');
    await f.proc;
    expect(readdirSync(d.rules)).toEqual([]);
    const g = spawnCli([...args, '--allowed-types', 'plugin', '--allowed-types', 'rulesfile'], d);
    await g.waitFor((l) => l.msg === 'Artifact correctly installed');
    g.proc.kill('SIGTERM');
    await g.proc;
  });

  it('sends --reload-signal to the pid in --falco-pid-file after an update', async () => {
    const open = getRegistries().open;
    const repo = uniqueRepo('follow/hup');
    await pushRules(open.host, repo, '1', rules('h', 2));
    const d = followDirs();
    const fakeFalco = execa('node', ['-e', "process.on('SIGHUP', () => console.log('SIGHUP received, restarting...')); setInterval(() => {}, 1000);"], { reject: false });
    const lines: string[] = [];
    fakeFalco.stdout?.on('data', (c: Buffer) => lines.push(c.toString()));
    const pidFile = join(d.root, 'falco.pid');
    writeFileSync(pidFile, `${fakeFalco.pid}\n`);
    const f = spawnCli(followArgs(d, falco.versionsUrl, [`${open.host}/${repo}:1`], ['--reload-signal', 'SIGHUP', '--falco-pid-file', pidFile]), d);
    await f.waitFor((l) => l.msg === 'Artifact correctly installed');
    const end = Date.now() + 5000;
    while (!lines.join('').includes('SIGHUP received') && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    f.proc.kill('SIGTERM');
    await f.proc;
    fakeFalco.kill('SIGKILL');
    await fakeFalco;
    expect(lines.join('')).toContain('SIGHUP received, restarting...');
  });
});
