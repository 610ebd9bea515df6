import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// The package's own entry (package.json "exports" → dist/rulesctl.js): what `import … from 'rulesctl'` gets.
import { follow, install, pull, push, resolve, isRulesctlError, ErrorCodes } from 'rulesctl';
import { startFalcoStandIn } from '../../helpers/falco-stand-in.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { tmpDir } from '../../helpers/tmp.js';

const RULES = `- required_engine_version: 0.26.0
- rule: API test rule
  desc: pushed through the library API
  condition: evt.type = open
  output: "opened (file=%fd.name)"
  priority: WARNING
`;

describe('library API (push, pull, install, resolve from the package entry)', () => {
  it('pushes, resolves, pulls and installs through the same code the CLI runs', async () => {
    const reg = getRegistries().open;
    const repo = uniqueRepo('api/rules');
    const dir = tmpDir('api');
    const file = join(dir, 'api_rules.yaml');
    await writeFile(file, RULES);

    const pushed = await push(`${reg.host}/${repo}:1.0.0`, [file], { type: 'rulesfile', version: '1.0.0', plainHttp: true, addFloatingTags: true, env: {} });
    expect(pushed.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(pushed.tags).toEqual(['1.0.0', '1', '1.0']);

    const resolved = await resolve([`${reg.host}/${repo}:1`], { plainHttp: true, env: {} });
    expect(resolved).toHaveLength(1);
    expect(resolved[0]).toMatchObject({ name: repo.split('/').pop(), version: '1.0.0', type: 'rulesfile', digest: pushed.digest, requested: true });

    const dest = tmpDir('api-pull');
    const pulled = await pull(`${reg.host}/${repo}:1.0.0`, { destDir: dest, extract: true, plainHttp: true, env: {} });
    expect(pulled.rootDigest).toBe(pushed.digest);
    expect(await readFile(join(dest, 'api_rules.yaml'), 'utf8')).toBe(RULES);

    const rules = tmpDir('api-rules');
    const state = tmpDir('api-state');
    const result = await install([`${reg.host}/${repo}:1.0`], { rulesfilesDir: rules, stateDir: state, plainHttp: true, env: {} });
    expect(result.installed.map((a) => a.digest)).toEqual([pushed.digest]);
    expect(await readdir(rules)).toEqual(['api_rules.yaml']);
    expect(await readFile(join(rules, 'api_rules.yaml'), 'utf8')).toBe(RULES);
  });

  it('refuses an invalid rules file before anything is pushed, with a coded error', async () => {
    const reg = getRegistries().open;
    const dir = tmpDir('api-bad');
    const file = join(dir, 'bad.yaml');
    await writeFile(file, '- rule: no output\n  desc: x\n  condition: evt.type = open\n  priority: WARNING\n');
    const err = await push(`${reg.host}/${uniqueRepo('api/bad')}:1.0.0`, [file], { type: 'rulesfile', version: '1.0.0', plainHttp: true, env: {} }).catch((e: unknown) => e);
    expect(isRulesctlError(err, ErrorCodes.INVALID_RULES)).toBe(true);
  });

  it('follow() installs a new version and stops cleanly when its signal aborts', async () => {
    const reg = getRegistries().open;
    const repo = uniqueRepo('api/follow');
    const dir = tmpDir('api-follow-src');
    const file = join(dir, 'followed_rules.yaml');
    await writeFile(file, RULES);
    await push(`${reg.host}/${repo}:1.0.0`, [file], { type: 'rulesfile', version: '1.0.0', plainHttp: true, tags: ['latest'], env: {} });
    const falco = await startFalcoStandIn();
    const rules = tmpDir('api-follow-rules');
    const controller = new AbortController();
    const running = follow([`${reg.host}/${repo}:latest`], {
      everyMs: 200, startupBehavior: 'immediate', falcoVersionsUrl: falco.versionsUrl, rulesfilesDir: rules,
      stateDir: tmpDir('api-follow-state'), tmpDir: tmpDir('api-follow-tmp'), plainHttp: true, env: {}, settleMs: 0, signal: controller.signal,
    });
    try {
      const target = join(rules, 'followed_rules.yaml');
      await waitFor(async () => (await readFile(target, 'utf8').catch(() => '')) === RULES);
      const v2 = RULES.replace('pushed through the library API', 'version two');
      await writeFile(file, v2);
      await push(`${reg.host}/${repo}:1.0.1`, [file], { type: 'rulesfile', version: '1.0.1', plainHttp: true, tags: ['latest'], env: {} });
      await waitFor(async () => (await readFile(target, 'utf8').catch(() => '')) === v2);
    } finally {
      controller.abort();
      expect(await running).toEqual({ stoppedCleanly: true });
      await falco.close();
    }
  });
});

async function waitFor(pred: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
