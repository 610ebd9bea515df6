import type { Writable } from 'node:stream';
import type { LogFields, Logger } from '../../log.js';

export type LogFormat = 'color' | 'text' | 'json';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };
const LEVEL_LABEL: Record<LogLevel, string> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };
const LEVEL_COLOR: Record<LogLevel, string> = { trace: '\x1b[90m', debug: '\x1b[35m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };

export interface CliLoggerOptions {
  format: LogFormat;
  level: LogLevel;
  /** Colour only when the stream is a TTY and NO_COLOR is unset (decided by the caller). */
  color: boolean;
  now?: () => Date;
}

/** `YYYY-MM-DD HH:MM:SS` in local time, as falcoctl (pterm) prints it. */
export function formatTimestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function formatValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(formatValue).join(' ')}]`;
  if (v instanceof Error) return v.message;
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * falcoctl-compatible log lines (spec falcoctl.md §15) written to `out` (stderr: rulesctl keeps
 * stdout for results). text/color: `2025-04-01 11:33:15 INFO  msg key: value`; json: one compact
 * object per line with the fields plus level, msg and timestamp, keys sorted.
 */
export function createCliLogger(out: Writable, opts: CliLoggerOptions): Logger {
  const now = opts.now ?? (() => new Date());
  const write = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (LEVEL_RANK[level] < LEVEL_RANK[opts.level]) return;
    const ts = formatTimestamp(now());
    if (opts.format === 'json') {
      const rec: Record<string, unknown> = { ...fields, level: LEVEL_LABEL[level], msg, timestamp: ts };
      const sorted = Object.fromEntries(Object.keys(rec).sort().map((k) => [k, normalise(rec[k])]));
      out.write(`${JSON.stringify(sorted)}\n`);
      return;
    }
    const label = LEVEL_LABEL[level].padEnd(5);
    const lvl = opts.format === 'color' && opts.color ? `${LEVEL_COLOR[level]}${label}\x1b[0m` : label;
    const args = Object.entries(fields).map(([k, v]) => `${k}: ${formatValue(v)}`).join(' ');
    out.write(`${ts} ${lvl} ${msg} ${args}`.trimEnd() + '\n');
  };
  return {
    trace: (m, f) => write('trace', m, f),
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

function normalise(v: unknown): unknown {
  return v instanceof Error ? v.message : v;
}
