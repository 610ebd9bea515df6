import type { Command } from 'commander';
import type { Logger } from '../log.js';
import { ErrorCodes, RulesctlError } from '../errors.js';
import type { CliIO } from './io.js';
import { createCliLogger, type LogFormat, type LogLevel } from './output/logger.js';
import type { OutputFormat } from './output/print.js';

export const DEFAULT_CONFIG_PATH = '/etc/falcoctl/falcoctl.yaml';

export interface GlobalOptions {
  config: string;
  logFormat: LogFormat;
  logLevel: LogLevel;
}

/** What every command action receives: the injected IO, the parsed globals, and a logger on stderr. */
export interface Runtime {
  io: CliIO;
  globals: GlobalOptions;
  logger: Logger;
  /** `--output` of the command (text unless asked), or `json` when the log format is json and the command has no own choice. */
  output: OutputFormat;
  /** True when colour may be used on stderr. */
  color: boolean;
}

const LOG_FORMATS = ['color', 'text', 'json'] as const;
const LOG_LEVELS = ['info', 'warn', 'debug', 'trace'] as const;

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new RulesctlError(ErrorCodes.USAGE, `invalid argument "${value}" for "${flag}", please provide one of (${allowed.join(', ')})`);
}

/** Builds the runtime from the options of the command being run (its own and the globals). */
export function createRuntime(io: CliIO, cmd: Command): Runtime {
  const o = cmd.optsWithGlobals() as Record<string, unknown>;
  let logFormat = oneOf(String(o.logFormat ?? 'color'), LOG_FORMATS, '--log-format');
  let logLevel = oneOf(String(o.logLevel ?? 'info'), LOG_LEVELS, '--log-level');
  if (o.verbose === true) logLevel = 'debug';
  if (o.disableStyling === true) logFormat = 'json';
  // Commands declare --output with commander choices (addOutputOption), so the value is valid here.
  const output: OutputFormat = o.output === 'json' ? 'json' : 'text';
  const color = Boolean(io.stderr.isTTY) && io.env.NO_COLOR === undefined && logFormat === 'color';
  const logger = createCliLogger(io.stderr, { format: logFormat, level: logLevel, color });
  const config = typeof o.config === 'string' ? o.config : io.env.RULESCTL_CONFIG ?? DEFAULT_CONFIG_PATH;
  return { io, globals: { config, logFormat, logLevel }, logger, output, color };
}
