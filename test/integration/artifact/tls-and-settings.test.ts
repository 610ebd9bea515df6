/**
 * Push and pull over HTTPS with a private CA (`--ca-file`), and the registry settings that replace
 * flags: `registry.plainHttp` hosts in falcoctl.yaml.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../cli/_run.js';
import { getRegistries, uniqueRepo } from '../../helpers/registries.js';
import { skopeoListTags } from '../../helpers/skopeo.js';
import { tmpDir } from '../../helpers/tmp.js';
import { VALID_RULES, cliHome } from './_helpers.js';

describe('registry options', () => {
  it('--ca-file trusts the TLS registry for push and pull; without it the error says what to do', async () => {
    const { tls } = getRegistries();
    const { home, env } = cliHome();
    const file = join(home, 'falco_rules.yaml');
    await writeFile(file, VALID_RULES);
    const repo = uniqueRepo('tls/rules');
    const push = await runCli(['registry', 'push', `${tls.host}/${repo}:1.0.0`, file, '--type', 'rulesfile', '--version=1.0.0', '--ca-file', tls.caFile!], { env });
    expect(push.stderr).not.toMatch(/^Error/m);
    expect(push.code).toBe(0);
    expect(await skopeoListTags(tls, repo)).toEqual(['1.0.0']);
    const dest = tmpDir('tls-pull');
    const pull = await runCli(['registry', 'pull', `${tls.host}/${repo}:1.0.0`, '-o', dest, '--ca-file', tls.caFile!], { env });
    expect(pull.code).toBe(0);
    expect(await readdir(dest)).toEqual(['falco_rules.tar.gz']);
    const refused = await runCli(['registry', 'pull', `${tls.host}/${repo}:1.0.0`, '-o', dest], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^Error: /m);
  });

  it('registry.plainHttp in falcoctl.yaml replaces --plain-http', async () => {
    const { open } = getRegistries();
    const { home, env } = cliHome();
    await writeFile(join(home, 'falcoctl.yaml'), `registry:\n  plainHttp:\n    - ${open.host}\n`);
    const file = join(home, 'falco_rules.yaml');
    await writeFile(file, VALID_RULES);
    const repo = uniqueRepo('settings/plain');
    const r = await runCli(['registry', 'push', `${open.host}/${repo}:1.0.0`, file, '--type', 'rulesfile', '--version=1.0.0'], { env });
    expect(r.code).toBe(0);
    expect(await skopeoListTags(open, repo)).toEqual(['1.0.0']);
  });
});
