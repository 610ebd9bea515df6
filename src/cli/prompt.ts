import type { Readable, Writable } from 'node:stream';
import { ErrorCodes, RulesctlError } from '../errors.js';

/** A terminal input: stdin when it is a TTY (`setRawMode` is what turns echo off). */
export type PromptInput = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

export interface PromptOptions {
  input: PromptInput | undefined;
  /** Where the question goes (stderr: stdout is kept for results). */
  output: Writable;
  /** False for secrets: nothing typed is echoed. */
  echo: boolean;
  signal?: AbortSignal;
}

/** True when `input` is an interactive terminal we can prompt on. */
export function canPrompt(input: PromptInput | undefined): input is PromptInput {
  return input !== undefined && input.isTTY === true;
}

/**
 * Asks `question` on a TTY and resolves to the line typed (without the newline). With
 * `echo: false` the terminal is put in raw mode so nothing typed appears, and a newline is written
 * once Enter is pressed. Backspace edits; Ctrl-C and Ctrl-D abort with ERR_ABORTED.
 * @throws RulesctlError ERR_USAGE when `input` is not a TTY (the caller names the flag to use).
 */
export async function prompt(question: string, opts: PromptOptions): Promise<string> {
  const input = opts.input;
  if (!canPrompt(input)) throw new RulesctlError(ErrorCodes.USAGE, 'cannot prompt: standard input is not a terminal');
  opts.output.write(question);
  const raw = typeof input.setRawMode === 'function';
  if (raw) input.setRawMode!(true);
  try {
    return await readLine(input, opts);
  } finally {
    if (raw) input.setRawMode!(false);
    input.pause();
  }
}

function readLine(input: PromptInput, opts: PromptOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    let line = '';
    const done = (err?: Error) => {
      input.pause();
      input.off('data', onData);
      input.off('end', onEnd);
      opts.signal?.removeEventListener('abort', onAbort);
      if (!opts.echo || typeof input.setRawMode === 'function') opts.output.write('\n');
      if (err) reject(err);
      else resolve(line);
    };
    const aborted = () => new RulesctlError(ErrorCodes.ABORTED, 'prompt cancelled');
    const onAbort = () => done(aborted());
    const onEnd = () => done(line === '' ? aborted() : undefined);
    const onData = (chunk: Buffer | string) => {
      const chars = [...chunk.toString('utf8')];
      for (const [i, ch] of chars.entries()) {
        if (ch === '\r' || ch === '\n') {
          // Keep what was typed ahead (a pasted "user\npassword\n") for the next prompt.
          const rest = chars.slice(ch === '\r' && chars[i + 1] === '\n' ? i + 2 : i + 1).join('');
          done();
          if (rest !== '') input.unshift(Buffer.from(rest));
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') return done(aborted());
        if (ch === '\u007f' || ch === '\b') {
          if (line.length > 0) {
            line = line.slice(0, -1);
            if (opts.echo && typeof input.setRawMode === 'function') opts.output.write('\b \b');
          }
          continue;
        }
        line += ch;
        if (opts.echo && typeof input.setRawMode === 'function') opts.output.write(ch);
      }
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}

/** Reads all of `input` (for `--password-stdin`) and drops one trailing newline (`\n` or `\r\n`). */
export async function readAllStdin(input: Readable | undefined, opts: { signal?: AbortSignal } = {}): Promise<string> {
  if (input === undefined) throw new RulesctlError(ErrorCodes.USAGE, 'no standard input to read the password from');
  const chunks: Buffer[] = [];
  for await (const chunk of input) {
    opts.signal?.throwIfAborted();
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
