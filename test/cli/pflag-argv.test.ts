/**
 * Flags written the way Go's pflag reads them (falcoctl.md §6): bool flags take `=<ParseBool
 * value>` (`--plain-http=true`, `--no-verify=false`), and `-t=foo` means `-t foo`. The Falco chart
 * and falcoctl users write both; commander alone refuses the first and keeps the `=` of the second.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildProgram, normalizeArgv } from '../../src/cli/main.js';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { skopeoListTags } from '../helpers/skopeo.js';
import { VALID_RULES, cliHome } from '../integration/artifact/_helpers.js';
import { runCli } from './_run.js';

const io = () => ({ env: {}, stdout: new PassThrough(), stderr: new PassThrough(), cwd: '/', signal: new AbortController().signal });

describe('pflag-style flags', () => {
  const { open } = getRegistries();

  async function rulesFile(): Promise<{ env: Record<string, string | undefined>; file: string }> {
    const { home, env } = cliHome();
    const file = join(home, 'falco_rules.yaml');
    await writeFile(file, VALID_RULES);
    return { env, file };
  }

  it('registry push takes --plain-http=True, --add-floating-tags=1 and -t=extra', async () => {
    const { env, file } = await rulesFile();
    const repo = uniqueRepo('cli/pflag-push');
    const r = await runCli(['registry', 'push', `${open.host}/${repo}:1.2.3`, file, '--type=rulesfile', '--version=1.2.3',
      '--plain-http=True', '--add-floating-tags=1', '-t=extra', '--verbose=true'], { env });
    expect(r.stderr).not.toContain('Error');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Pushed manifest');
    expect((await skopeoListTags(open, repo)).sort()).toEqual(['1', '1.2', '1.2.3', 'extra']);
  });

  it('--flag=false is the flag not given', async () => {
    const { env, file } = await rulesFile();
    const repo = uniqueRepo('cli/pflag-false');
    const r = await runCli(['registry', 'push', `${open.host}/${repo}:0.1.0`, file, '--type', 'rulesfile', '--version', '0.1.0',
      '--plain-http=t', '--add-floating-tags=false', '-t=only', '-v=0'], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('Pushed manifest');
    expect((await skopeoListTags(open, repo)).sort()).toEqual(['0.1.0', 'only']);
    const verify = await runCli(['config', 'artifact.noVerify', '--no-verify=false', '-o', 'json'], { env });
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject([{ key: 'artifact.noVerify', value: false, source: 'default' }]);
    const noVerify = await runCli(['config', 'artifact.noVerify', '--no-verify=TRUE', '-o', 'json'], { env });
    expect(JSON.parse(noVerify.stdout)).toMatchObject([{ key: 'artifact.noVerify', value: true, source: 'flag' }]);
  });

  it('a value ParseBool refuses is a usage error naming the flag', async () => {
    const { env, file } = await rulesFile();
    const r = await runCli(['registry', 'push', `${open.host}/${uniqueRepo('cli/pflag-bad')}:0.1.0`, file, '--type', 'rulesfile', '--version', '0.1.0', '--plain-http=yes'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid argument "yes" for "--plain-http" flag: strconv.ParseBool: parsing "yes": invalid syntax');
    expect(r.stderr).toContain("Run 'rulesctl registry push --help' for usage.");
    const v = await runCli(['index', 'list', '-v=maybe'], { env });
    expect(v.code).toBe(2);
    expect(v.stderr).toContain('invalid argument "maybe" for "-v, --verbose" flag');
  });

  it('--disable-styling=true takes effect on the error output', async () => {
    const { env } = cliHome();
    const r = await runCli(['registry', 'pull', `${open.host}/x:bad!tag`, '--plain-http', '--disable-styling=true'], { env });
    expect(r.code).toBe(1);
    const last = JSON.parse(r.stderr.trim().split('\n').pop()!) as { level: string; msg: string };
    expect(last.level).toBe('ERROR');
    expect(last.msg).toContain('bad!tag');
  });

  it('leaves what follows -- and the separate value of a flag alone', async () => {
    const program = await buildProgram(io(), ['registry', 'push']);
    expect(normalizeArgv(program, ['registry', 'push', 'r', 'f', '--plain-http=1', '--', '-t=x', '--plain-http=false']))
      .toEqual(['registry', 'push', 'r', 'f', '--plain-http', '--', '-t=x', '--plain-http=false']);
    expect(normalizeArgv(program, ['registry', 'push', 'r', 'f', '--name', '--plain-http=false', '-t', '-d=x']))
      .toEqual(['registry', 'push', 'r', 'f', '--name', '--plain-http=false', '-t', '-d=x']);
    expect(normalizeArgv(program, ['registry', 'push', 'r', 'f', '-d=a:1.0.0', '--unknown=1', '--version=1.0.0']))
      .toEqual(['registry', 'push', 'r', 'f', '-d', 'a:1.0.0', '--unknown=1', '--version=1.0.0']);
  });
});
