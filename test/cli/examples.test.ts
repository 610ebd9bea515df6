/**
 * Every example command line we show users parses: the `Examples:` of each command's --help, and
 * the `rulesctl …` lines of README.md and docs/*.md. Each is parsed by the real command tree with
 * its actions replaced by a recorder, so a renamed command, a dropped flag or a missing argument in
 * an example fails here, without running anything.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CommanderError, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { REPO_ROOT, runCli, testEnv } from './_run.js';
import { tmpDir } from '../helpers/tmp.js';

const io = () => ({ env: {}, stdout: new PassThrough(), stderr: new PassThrough(), cwd: '/', signal: new AbortController().signal });

/**
 * The words of one shell command line, as the shell would pass them (quotes removed, `$VAR` left
 * as it is), up to a comment, pipe, redirection, `;` or `&&`.
 */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '"' || ch === "'") {
      const end = line.indexOf(ch, i + 1);
      if (end < 0) throw new Error(`unbalanced quote in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (word === undefined && (ch === '#' || ch === '|' || ch === '>' || ch === '<' || ch === ';' || line.startsWith('&&', i))) {
      break;
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The `rulesctl …` command lines among `lines`, backslash continuations joined. */
function commandLines(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim().replace(/^\$ /, '');
    if (!line.startsWith('rulesctl ')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    out.push(line);
  }
  return out;
}

/** The `rulesctl …` command lines of the fenced code blocks of a Markdown text. */
function markdownCommands(text: string): string[] {
  let fenced = false;
  return commandLines(text.split('\n').map((l) => {
    if (/^\s*```/.test(l)) fenced = !fenced;
    return fenced ? l : '';
  }));
}

/** Parses `words` (after `rulesctl`) with the whole tree; the path of the command that would run. */
async function parse(words: string[]): Promise<string> {
  const program = await buildProgram(io());
  let ran = '';
  const leaves = (cmd: Command, path: string[]): void => {
    if (cmd.commands.length === 0) cmd.action(() => { ran = path.join(' '); });
    for (const sub of cmd.commands) leaves(sub, [...path, sub.name()]);
  };
  leaves(program, []);
  await program.parseAsync(words, { from: 'user' });
  return ran;
}

const docs = [join(REPO_ROOT, 'README.md'), ...readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(REPO_ROOT, 'docs', f))];
const fromDocs = docs.flatMap((file) => markdownCommands(readFileSync(file, 'utf8')).map((line) => ({ where: file.slice(REPO_ROOT.length + 1), line })));

async function fromHelp(): Promise<Array<{ where: string; line: string }>> {
  const env = testEnv(tmpDir('examples'));
  const out: Array<{ where: string; line: string }> = [];
  const walk = async (cmd: Command, path: string[]): Promise<void> => {
    const r = await runCli([...path, '--help'], { env });
    const examples = r.stdout.split('\nExamples:\n')[1] ?? '';
    for (const line of commandLines(examples.split('\n'))) out.push({ where: ['rulesctl', ...path, '--help'].join(' '), line });
    for (const sub of cmd.commands) await walk(sub, [...path, sub.name()]);
  };
  await walk(await buildProgram(io()), []);
  return out;
}

describe('shellWords', () => {
  it('splits like the shell: quotes, comments, pipes', () => {
    expect(shellWords(`rulesctl registry push "ghcr.io/\${OWNER}/rules" a.yaml --annotation-source 'x y'  # comment`))
      .toEqual(['rulesctl', 'registry', 'push', 'ghcr.io/${OWNER}/rules', 'a.yaml', '--annotation-source', 'x y']);
    expect(shellWords('rulesctl artifact manifest falco-rules -o json | jq .layers')).toEqual(['rulesctl', 'artifact', 'manifest', 'falco-rules', '-o', 'json']);
    expect(shellWords('rulesctl index add a file:///srv/index.yaml && rulesctl index list')).toEqual(['rulesctl', 'index', 'add', 'a', 'file:///srv/index.yaml']);
    expect(shellWords('rulesctl x --tag=a#b < in.txt')).toEqual(['rulesctl', 'x', '--tag=a#b']);
  });
});

describe('every example command line parses', () => {
  it('fails on a bad example (the check can fail)', async () => {
    await expect(parse(['artifact', 'install', 'falco-rules:3', '--no-such-flag'])).rejects.toBeInstanceOf(CommanderError);
    await expect(parse(['artifact', 'instal', 'falco-rules:3'])).rejects.toBeInstanceOf(CommanderError);
    await expect(parse(['registry', 'push'])).rejects.toBeInstanceOf(CommanderError);
    expect(await parse(['artifact', 'install', 'falco-rules:3', '--plain-http'])).toBe('artifact install');
  });

  it('in the README and docs', async () => {
    expect(fromDocs.length).toBeGreaterThanOrEqual(4);
    const bad: string[] = [];
    for (const { where, line } of fromDocs) {
      const words = shellWords(line).slice(1);
      await parse(words).then((ran) => { if (ran === '') bad.push(`${where}: ${line}: no command runs`); }, (err: Error) => bad.push(`${where}: ${line}: ${err.message}`));
    }
    expect(bad).toEqual([]);
  });

  it("in every command's --help", async () => {
    const examples = await fromHelp();
    expect(examples.length).toBeGreaterThan(40);
    const bad: string[] = [];
    for (const { where, line } of examples) {
      const words = shellWords(line).slice(1);
      // `rulesctl artifact --help` and the like show help: commander signals it with an exit of 0.
      await parse(words).then(() => {}, (err: unknown) => {
        if (!(err instanceof CommanderError && err.exitCode === 0)) bad.push(`${where}: ${line}: ${(err as Error).message}`);
      });
    }
    expect(bad).toEqual([]);
  });
});
