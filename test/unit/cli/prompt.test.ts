import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { canPrompt, prompt, readAllStdin } from '../../../src/cli/prompt.js';
import { fakeTty } from '../../cli/_run.js';

function sink() {
  const s = new PassThrough();
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return { s, text: () => Buffer.concat(chunks).toString() };
}

describe('prompt', () => {
  it('reads a password without echoing it, in raw mode, and restores the mode', async () => {
    const tty = fakeTty();
    const out = sink();
    tty.type('s3cr\u007fret\r');
    const value = await prompt('Password: ', { input: tty, output: out.s, echo: false });
    expect(value).toBe('s3cret');
    expect(out.text()).toBe('Password: \n');
    expect(tty.rawModes).toEqual([true, false]);
  });

  it('echoes a username and keeps typed-ahead text for the next prompt', async () => {
    const tty = fakeTty();
    const out = sink();
    tty.type('alice\r\nhunter2\n');
    expect(await prompt('Username: ', { input: tty, output: out.s, echo: true })).toBe('alice');
    expect(await prompt('Password: ', { input: tty, output: out.s, echo: false })).toBe('hunter2');
    expect(out.text()).toBe('Username: alice\nPassword: \n');
  });

  it('aborts on Ctrl-C and refuses a non-terminal input', async () => {
    const tty = fakeTty();
    tty.type('abc\u0003');
    await expect(prompt('Password: ', { input: tty, output: sink().s, echo: false })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    const pipe = Readable.from(['x\n']);
    expect(canPrompt(pipe)).toBe(false);
    await expect(prompt('Password: ', { input: pipe, output: sink().s, echo: false })).rejects.toMatchObject({ code: 'ERR_USAGE' });
  });

  it('reads all of stdin for --password-stdin, dropping one final newline only', async () => {
    expect(await readAllStdin(Readable.from([Buffer.from('pa'), Buffer.from('ss\n')]))).toBe('pass');
    expect(await readAllStdin(Readable.from([Buffer.from('pass\r\n')]))).toBe('pass');
    expect(await readAllStdin(Readable.from([Buffer.from(' pass \n\n')]))).toBe(' pass \n');
  });
});
