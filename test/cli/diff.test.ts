import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { getRegistries, uniqueRepo } from '../helpers/registries.js';
import { BIN, followDirs, pushRules } from '../integration/follow/_follow.js';

/** `rulesctl artifact diff REF OLD NEW` against the real registry (text and --output json). */

const v1 = `- list: shells\n  items: [bash, sh]\n- macro: spawned\n  condition: evt.type = execve\n- rule: Shell in container\n  desc: d\n  condition: spawned and proc.name in (shells)\n  output: "shell %proc.name"\n  priority: WARNING\n- rule: Old rule\n  desc: d\n  condition: evt.type = open\n  output: "o"\n  priority: NOTICE\n`;
const v2 = `- list: shells\n  items: [bash, sh, zsh]\n- macro: spawned\n  condition: evt.type = execve\n- macro: opened\n  condition: evt.type = open\n- rule: Shell in container\n  priority: WARNING\n  desc: d\n  condition: spawned and proc.name in (shells)\n  output: "shell %proc.name"\n- rule: New rule\n  desc: d\n  condition: opened\n  output: "n"\n  priority: NOTICE\n`;

describe('artifact diff', () => {
  it('prints added, removed and changed rules, macros and lists between two tags or digests', async () => {
    const open = getRegistries().open;
    const repo = uniqueRepo('diff/rules');
    const d1 = await pushRules(open.host, repo, '1.0.0', v1);
    await pushRules(open.host, repo, '1.0.1', v2, { version: '1.0.1' });
    const d = followDirs();
    const run = (...a: string[]) => execa('node', [BIN, '--config', d.config, 'artifact', 'diff', `${open.host}/${repo}`, ...a, '--plain-http'], { env: { HOME: d.home }, reject: false });

    const text = await run('1.0.0', '1.0.1');
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain(`${open.host}/${repo}: 1.0.0 (${d1}) -> 1.0.1 (sha256:`);
    expect(text.stdout).toContain('rules: 1 added, 1 removed, 0 changed\n  + New rule\n  - Old rule');
    expect(text.stdout).toContain('macros: 1 added, 0 removed, 0 changed\n  + opened');
    expect(text.stdout).toContain('lists: 0 added, 0 removed, 1 changed\n  ~ shells');

    const json = await run(d1, '1.0.1', '--output', 'json');
    expect(json.exitCode).toBe(0);
    const r = JSON.parse(json.stdout) as Record<string, any>;
    expect(r.old).toMatchObject({ reference: d1, digest: d1, version: '1.0.0', files: ['falco_rules.yaml'] });
    expect(r.new.version).toBe('1.0.1');
    expect(r.rules).toEqual({ added: ['New rule'], removed: ['Old rule'], changed: [] });
    expect(r.macros).toEqual({ added: ['opened'], removed: [], changed: [] });
    expect(r.lists).toEqual({ added: [], removed: [], changed: ['shells'] });

    const missing = await run('1.0.0', '9.9.9');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/9\.9\.9/);
  });
});
