/**
 * The logger the library reports through. The CLI implements it (text/color/json, falcoctl's
 * formats, on stderr); library code receives one and never prints. Field values must be
 * secret-free.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const noop = (): void => {};

/** A logger that drops everything (library default). */
export const nullLogger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

export interface LogRecord {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: LogFields;
}

/** A logger that keeps records in memory (tests, and `--output json` summaries). */
export function memoryLogger(): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at = (level: LogRecord['level']) => (msg: string, fields: LogFields = {}) => {
    records.push({ level, msg, fields });
  };
  return { records, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
