import type { Writable } from 'node:stream';

/** One blob being transferred. */
export interface BarState {
  /** `Pushing layer 3f2a…` */
  label: string;
  total: number;
  done: number;
  /** Milliseconds since the transfer started. */
  elapsedMs: number;
}

export interface Progress {
  /** Starts a bar for one blob; call the returned function with the bytes transferred so far. */
  start(label: string, total: number): (bytes: number) => void;
  /** Ends the current bar: draws its last state and moves to a new line. */
  finish(): void;
}

export interface ProgressOptions {
  /** Bars are drawn only when true: stderr is a TTY and logs are not JSON (style practice 4). */
  enabled: boolean;
  /** Terminal width; default 80. */
  columns?: number;
  now?: () => number;
  /** Minimum milliseconds between redraws; default 100. */
  intervalMs?: number;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1.5 MiB`, `512 B`. */
export function formatBytes(n: number): string {
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[i]}`;
}

/** `1m05s`, `42s`; `--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.ceil(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * One bar line: label, bar, bytes done / total, rate and ETA, fitted into `columns`
 * (`Pushing layer 3f2a9c0d1e2b [=====>    ] 1.0 MiB / 2.0 MiB  512.0 KiB/s  ETA 2s`); with an unknown
 * total (not positive or not finite) only the bytes and the rate.
 */
export function formatBar(s: BarState, columns = 80): string {
  const rate = s.elapsedMs > 0 ? (s.done * 1000) / s.elapsedMs : 0;
  if (!(s.total > 0) || !Number.isFinite(s.total)) {
    const line = `${s.label} ${formatBytes(s.done)}  ${formatBytes(Math.round(rate))}/s`;
    return line.length > columns ? line.slice(0, columns) : line;
  }
  const eta = s.done >= s.total ? 0 : rate > 0 ? (s.total - s.done) / rate : Number.NaN;
  const stats = `${formatBytes(s.done)} / ${formatBytes(s.total)}  ${formatBytes(Math.round(rate))}/s  ETA ${formatDuration(eta)}`;
  // Room reserved for the widest stats (`1023.9 MiB / 1023.9 MiB  1023.9 MiB/s  ETA 59m59s`), so the bar keeps its width.
  const width = Math.max(10, Math.min(30, columns - s.label.length - 54));
  const ratio = s.total > 0 ? Math.min(1, s.done / s.total) : 1;
  const full = Math.floor(ratio * width);
  const bar = '='.repeat(full) + (full < width ? '>' + ' '.repeat(width - full - 1) : '');
  const line = `${s.label} [${bar}] ${stats}`;
  return line.length > columns ? line.slice(0, columns) : line;
}

/**
 * Progress bars on `out` (stderr), one per blob, redrawn in place with `\r`; when `enabled` is false
 * every call is a no-op, so callers never branch on the TTY.
 */
export function createProgress(out: Writable, opts: ProgressOptions): Progress {
  const now = opts.now ?? (() => Date.now());
  const interval = opts.intervalMs ?? 100;
  const columns = opts.columns ?? 80;
  let current: { state: BarState; startedAt: number; drawnAt: number } | undefined;
  const draw = (): void => {
    if (!current) return;
    current.state.elapsedMs = now() - current.startedAt;
    current.drawnAt = now();
    out.write(`\r\x1b[2K${formatBar(current.state, columns)}`);
  };
  const finish = (): void => {
    if (!opts.enabled || !current) return;
    draw();
    out.write('\n');
    current = undefined;
  };
  return {
    start(label, total) {
      if (!opts.enabled) return () => {};
      finish();
      const t = now();
      const bar = { state: { label, total, done: 0, elapsedMs: 0 }, startedAt: t, drawnAt: -Infinity };
      current = bar;
      draw();
      return (bytes) => {
        if (current !== bar) return;
        bar.state.done = bytes;
        if (now() - bar.drawnAt >= interval) draw();
      };
    },
    finish,
  };
}

/** Bars go to stderr only when it is a TTY and the log format is not JSON. */
export function progressFor(stderr: Writable & { isTTY?: boolean; columns?: number }, logFormat: string): Progress {
  return createProgress(stderr, { enabled: stderr.isTTY === true && logFormat !== 'json', ...(stderr.columns ? { columns: stderr.columns } : {}) });
}
