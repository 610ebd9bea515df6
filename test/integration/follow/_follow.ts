import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { buildArtifact } from '../../../src/artifact/build.js';
import type { ArtifactDependency, ArtifactRequirement } from '../../../src/artifact/config.js';
import { pushArtifact } from '../../../src/artifact/push.js';
import { createRegistryClient } from '../../../src/oci/registry/client.js';
import { tmpDir } from '../../helpers/tmp.js';

/** Helpers shared by the follow/sync integration tests: push rules artifacts, run the built CLI. */

export const BIN = join(import.meta.dirname, '../../../bin/rulesctl.cjs');
export const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** A valid rules file with `n` rules named `<tag> <i>`. */
export const rules = (tag: string, n = 50) =>
  Array.from({ length: n }, (_, i) =>
    `- rule: ${tag} ${i}\n  desc: d\n  condition: evt.type = open and proc.name = "${tag}${i}"\n  output: "opened %fd.name"\n  priority: WARNING\n`,
  ).join('');

const client = createRegistryClient({ plainHttp: true });

/** Pushes a rulesfile artifact `registry/repo:tag` with `falco_rules.yaml` = `text`; returns the digest. */
export async function pushRules(
  registry: string,
  repo: string,
  tag: string | string[],
  text: string,
  opts: { version?: string; requirements?: ArtifactRequirement[]; fileName?: string; dependencies?: ArtifactDependency[]; name?: string } = {},
): Promise<string> {
  const dir = tmpDir('push');
  const file = join(dir, opts.fileName ?? 'falco_rules.yaml');
  writeFileSync(file, text);
  const built = await buildArtifact({
    type: 'rulesfile', files: [{ path: file }], name: opts.name ?? repo.split('/').pop()!, version: opts.version ?? '1.0.0',
    ...(opts.dependencies ? { dependencies: opts.dependencies } : {}),
    requirements: opts.requirements ?? [{ name: 'engine_version_semver', version: '0.31.0' }], created: '2026-01-01T00:00:00Z',
  });
  try {
    const tags = [tag].flat();
    const res = await pushArtifact(client.repository({ registry, repository: repo }), built, { tags });
    return res.rootDigest;
  } finally {
    await built.dispose();
  }
}

/** Pushes a two-platform plugin (linux/amd64, linux/arm64) `registry/repo:tag`; returns the index digest. */
export async function pushPlugin(registry: string, repo: string, tag: string, name: string, version: string): Promise<string> {
  const dir = tmpDir('plugin');
  const files = ['amd64', 'arm64'].map((arch) => {
    mkdirSync(join(dir, arch));
    const path = join(dir, arch, `lib${name}.so`);
    writeFileSync(path, `fake ${name} ${version} for ${arch}`);
    return { path, platform: `linux/${arch}` };
  });
  const built = await buildArtifact({ type: 'plugin', files, name, version, created: '2026-01-01T00:00:00Z' });
  try {
    return (await pushArtifact(client.repository({ registry, repository: repo }), built, { tags: [tag] })).rootDigest;
  } finally {
    await built.dispose();
  }
}

export interface FollowDirs {
  root: string;
  rules: string;
  plugins: string;
  state: string;
  tmp: string;
  home: string;
  config: string;
}

/** Fresh dirs for one follower (rules dir, state dir, a HOME without any index cache, an empty config). */
export function followDirs(configYaml = ''): FollowDirs {
  const root = tmpDir('follow');
  const d = {
    root, rules: join(root, 'rules'), plugins: join(root, 'plugins'), state: join(root, 'state'),
    tmp: join(root, 'tmp'), home: join(root, 'home'), config: join(root, 'falcoctl.yaml'),
  };
  for (const x of [d.rules, d.plugins, d.state, d.tmp, d.home]) mkdirSync(x, { recursive: true });
  writeFileSync(d.config, configYaml);
  return d;
}

export interface Spawned {
  proc: ResultPromise;
  lines: () => Record<string, unknown>[];
  waitFor(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Spawns `rulesctl` with JSON logs; stderr lines are parsed as they come. */
export function spawnCli(args: string[], d: FollowDirs, env: Record<string, string> = {}): Spawned {
  const proc = execa('node', [BIN, '--config', d.config, '--log-format', 'json', ...args], {
    env: { HOME: d.home, ...env }, extendEnv: true, reject: false, all: false, buffer: false,
  });
  const parsed: Record<string, unknown>[] = [];
  let buf = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        parsed.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        parsed.push({ msg: line, level: 'RAW' });
      }
    }
  });
  proc.stdout?.resume();
  return {
    proc,
    lines: () => parsed,
    async waitFor(pred, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const hit = parsed.find(pred);
        if (hit) return hit;
        if (Date.now() > until) throw new Error(`no matching log line; got:\n${parsed.map((l) => JSON.stringify(l)).join('\n')}`);
        await delay(25);
      }
    },
  };
}

/** `rulesctl artifact follow` args for a fast follower on `dirs`. */
export function followArgs(d: FollowDirs, falcoVersionsUrl: string, refs: string[], extra: string[] = []): string[] {
  return [
    'artifact', 'follow', ...refs, '--every', '1s', '--startup-behavior', 'immediate', '--plain-http',
    '--falco-versions', falcoVersionsUrl, '--rulesfiles-dir', d.rules, '--plugins-dir', d.plugins,
    '--state-dir', d.state, '--tmp-dir', d.tmp, '--allowed-types', 'rulesfile', ...extra,
  ];
}

/** Polls `fn` until it returns true (or throws after `timeoutMs`). */
export async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}
