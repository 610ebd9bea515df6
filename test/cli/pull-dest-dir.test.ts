/**
 * `registry pull -o DIR` creates a missing DIR, as falcoctl's oras file store does (MkdirAll when
 * it writes the file), and leaves none behind when the pull fails.
 */
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { VALID_RULES, cliHome } from '../integration/artifact/_helpers.js';
import { runCli } from './_run.js';

describe('registry pull --dest-dir', () => {
  const { open } = getRegistries();

  it('creates a missing destination, nested, and pulls into it', async () => {
    const { home, env } = cliHome();
    const repo = uniqueRepo('cli/pull-mkdir');
    await writeFile(join(home, 'falco_rules.yaml'), VALID_RULES);
    expect((await runCli(['registry', 'push', `${open.host}/${repo}:1.0.0`, join(home, 'falco_rules.yaml'), '--type', 'rulesfile', '--version', '1.0.0', '--plain-http'], { env })).code).toBe(0);
    const dest = join(home, 'new', 'nested');
    const r = await runCli(['registry', 'pull', `${open.host}/${repo}:1.0.0`, '-o', dest, '--plain-http'], { env });
    expect(r.stderr).not.toContain('Error');
    expect(r.code).toBe(0);
    expect(await readdir(dest)).toEqual(['falco_rules.tar.gz']);
  });

  it('a failed pull leaves no directory behind; a file in the way is an error naming it', async () => {
    const { home, env } = cliHome();
    const dest = join(home, 'gone', 'sub');
    const r = await runCli(['registry', 'pull', `${open.host}/${uniqueRepo('cli/pull-missing')}:1.0.0`, '-o', dest, '--plain-http'], { env });
    expect(r.code).toBe(1);
    expect(existsSync(join(home, 'gone'))).toBe(false);
    await writeFile(join(home, 'file'), 'x');
    const f = await runCli(['registry', 'pull', `${open.host}/${uniqueRepo('cli/pull-file')}:1.0.0`, '-o', join(home, 'file'), '--plain-http'], { env });
    expect(f.code).toBe(1);
    expect(f.stderr).toContain(`cannot use directory "${join(home, 'file')}" as destination`);
  });
});
