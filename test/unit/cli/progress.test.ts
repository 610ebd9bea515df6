import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, formatBar, formatBytes, formatDuration, progressFor } from '../../../src/cli/output/progress.js';

function sink(): PassThrough & { text(): string } {
  const s = new PassThrough() as PassThrough & { text(): string };
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.text = () => Buffer.concat(chunks).toString('utf8');
  return s;
}

describe('progress formatting', () => {
  it('formats bytes and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
    expect(formatDuration(42.2)).toBe('43s');
    expect(formatDuration(65)).toBe('1m05s');
    expect(formatDuration(Number.NaN)).toBe('--');
  });

  it('shows bytes, rate and ETA, and fits the width', () => {
    const line = formatBar({ label: 'Pushing layer 3f2a9c0d1e2b', total: 2 * 1024 * 1024, done: 1024 * 1024, elapsedMs: 2000 }, 100);
    expect(line).toContain('Pushing layer 3f2a9c0d1e2b [');
    expect(line).toContain('1.0 MiB / 2.0 MiB');
    expect(line).toContain('512.0 KiB/s');
    expect(line).toContain('ETA 2s');
    expect(line.length).toBeLessThanOrEqual(100);
    expect(formatBar({ label: 'x'.repeat(200), total: 10, done: 5, elapsedMs: 1 }, 80)).toHaveLength(80);
  });

  it('keeps the bar width while the numbers change', () => {
    const bar = (done: number, ms: number) => /\[[^\]]*\]/.exec(formatBar({ label: 'Pushing layer 3f2a9c0d1e2b', total: 3_000_000, done, elapsedMs: ms }, 120))![0].length;
    expect(new Set([bar(0, 0), bar(1_500_000, 100), bar(3_000_000, 1000)]).size).toBe(1);
  });

  it('shows only bytes and rate when the total is unknown', () => {
    expect(formatBar({ label: 'Pulling layer', total: Number.POSITIVE_INFINITY, done: 2048, elapsedMs: 1000 })).toBe('Pulling layer 2.0 KiB  2.0 KiB/s');
  });

  it('a full bar at the end, ETA 0s', () => {
    const line = formatBar({ label: 'L', total: 100, done: 100, elapsedMs: 1000 }, 80);
    expect(line).toMatch(/\[=+\]/);
    expect(line).toContain('ETA 0s');
  });
});

describe('createProgress', () => {
  it('draws in place on a TTY, throttled, with a newline per finished blob', () => {
    const out = sink();
    let t = 0;
    const p = createProgress(out, { enabled: true, now: () => t, intervalMs: 100 });
    const update = p.start('Pushing layer aaaaaaaaaaaa', 1000);
    t = 10;
    update(100); // throttled
    t = 200;
    update(500);
    p.finish();
    const text = out.text();
    expect(text.split('\r\x1b[2K')).toHaveLength(4); // start, t=200, finish
    expect(text).toContain('500 B / 1000 B');
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toContain('100 B / 1000 B');
  });

  it('writes nothing when disabled (not a TTY, or JSON logs)', () => {
    const out = sink();
    const p = createProgress(out, { enabled: false });
    p.start('x', 10)(5);
    p.finish();
    expect(out.text()).toBe('');
    const tty = Object.assign(sink(), { isTTY: true });
    progressFor(tty, 'json').start('x', 10)(5);
    expect(tty.text()).toBe('');
    const notTty = sink();
    progressFor(notTty, 'text').start('x', 10)(5);
    expect(notTty.text()).toBe('');
    const yes = Object.assign(sink(), { isTTY: true });
    progressFor(yes, 'text').start('x', 10)(5);
    expect(yes.text()).toContain('x [');
  });

  it('a new bar ends the previous one', () => {
    const out = sink();
    const p = createProgress(out, { enabled: true, now: () => 0 });
    const first = p.start('first', 10);
    p.start('second', 10);
    first(5); // stale updater: ignored
    expect(out.text()).toContain('first');
    expect(out.text()).not.toContain('5 B / 10 B');
    expect(out.text().split('\n')).toHaveLength(2);
  });
});
