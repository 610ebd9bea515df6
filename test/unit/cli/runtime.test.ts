import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../../src/cli/runtime.js';

function runtimeFor(argv: string[], opts: { tty: boolean; env?: Record<string, string> }) {
  const stderr = new PassThrough() as PassThrough & { isTTY?: boolean };
  const chunks: Buffer[] = [];
  stderr.on('data', (c: Buffer) => chunks.push(c));
  if (opts.tty) stderr.isTTY = true;
  const program = new Command('rulesctl').exitOverride()
    .option('--log-format <f>', '', 'color').option('--log-level <l>', '', 'info')
    .option('-v, --verbose').option('--disable-styling').option('--config <p>');
  let rt: ReturnType<typeof createRuntime> | undefined;
  program.command('x').action((_o, cmd: Command) => {
    rt = createRuntime({ env: opts.env ?? {}, stdout: new PassThrough(), stderr, cwd: '/', signal: new AbortController().signal }, cmd);
  });
  program.parse(['x', ...argv], { from: 'user' });
  rt!.logger.info('hello');
  return { rt: rt!, text: () => Buffer.concat(chunks).toString() };
}

describe('colour decision (runtime)', () => {
  it('colours only when stderr is a TTY', () => {
    const tty = runtimeFor([], { tty: true });
    expect(tty.rt.color).toBe(true);
    expect(tty.text()).toContain('\x1b[');
    const pipe = runtimeFor([], { tty: false });
    expect(pipe.rt.color).toBe(false);
    expect(pipe.text()).not.toContain('\x1b[');
  });

  it('never colours with NO_COLOR set, even empty, even on a TTY', () => {
    for (const value of ['1', '']) {
      const r = runtimeFor([], { tty: true, env: { NO_COLOR: value } });
      expect(r.rt.color).toBe(false);
      expect(r.text()).not.toContain('\x1b[');
    }
  });

  it('never colours with --log-format text or json', () => {
    for (const f of ['text', 'json']) {
      const r = runtimeFor([`--log-format=${f}`], { tty: true });
      expect(r.rt.color).toBe(false);
      expect(r.text()).not.toContain('\x1b[');
    }
  });
});
