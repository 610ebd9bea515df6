import { Command, CommanderError, type Option } from 'commander';
import { ErrorCodes, RulesctlError } from '../errors.js';
import { renderError } from './errors.js';
import { ExitCodes, type CliIO } from './io.js';
import { createRuntime, type Runtime } from './runtime.js';
import { VERSION } from './version-info.js';

export type { CliIO } from './io.js';

/** An action body: gets the runtime, returns nothing (it prints through the runtime). */
export type Action = (rt: Runtime, args: unknown[], cmd: Command) => Promise<void>;

/** Wraps a command action: builds the runtime, runs, and leaves error rendering to main(). */
export function action(io: CliIO, fn: Action) {
  return async (...raw: unknown[]): Promise<void> => {
    const cmd = raw[raw.length - 1] as Command;
    const args = raw.slice(0, -2);
    await fn(createRuntime(io, cmd), args, cmd);
  };
}

/**
 * The commander program. With `argv`, only the modules of the command it names are loaded
 * (start-up time); without, the whole tree (completion, tests walking every command).
 */
export async function buildProgram(io: CliIO, argv?: readonly string[]): Promise<Command> {
  const program = new Command('rulesctl')
    .description('Manage Falco rules files and plugins as OCI artifacts (a drop-in for falcoctl artifact/index/registry).')
    .option('--config <path>', 'config file to use (falcoctl.yaml)', undefined)
    .option('--log-format <format>', 'log format: color, text or json', 'color')
    .option('--log-level <level>', 'log level: info, warn, debug or trace', 'info')
    .option('-v, --verbose', 'deprecated: same as --log-level=debug')
    .option('--disable-styling', 'deprecated: same as --log-format=json')
    .showHelpAfterError(false)
    .configureHelp({ sortSubcommands: false });
  program.addHelpText('after', '\n  --version              print the rulesctl version (only as the first argument: subcommands such as\n                         `registry push --version 1.2.3` have their own --version)\n\nExamples:\n  rulesctl artifact install falco-rules:3\n  rulesctl registry push ghcr.io/org/rules/my-rules:1.0.0 my_rules.yaml --type rulesfile --version 1.0.0\n  rulesctl artifact follow falco-rules:3 --every 6h\n\nResults go to stdout; logs, progress and errors to stderr. Exit status: 0 ok, 1 failure, 2 usage error.');
  const { registerCommands } = await import('./commands/register.js');
  await registerCommands(program, io, action, argv);
  configureTree(program, io);
  return program;
}

function configureTree(cmd: Command, io: CliIO): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    outputError: () => {},
  });
  for (const sub of cmd.commands) configureTree(sub, io);
}

/** Runs the CLI on `argv` (without node and script) and resolves to the exit code. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  // `rulesctl --version` only as the first argument: a program-level commander option would be
  // recognised after the subcommand too and swallow `registry push --version 1.2.3`.
  if (argv[0] === '--version') {
    io.stdout.write(`${VERSION}\n`);
    return ExitCodes.ok;
  }
  const program = await buildProgram(io, argv);
  let args: string[];
  try {
    args = normalizeArgv(program, argv);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return report(io, new RulesctlError(ErrorCodes.USAGE, message, { hint: `Run '${usageOf(program, argv)} --help' for usage.` }), argv);
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return ExitCodes.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCodes.ok;
      if (err.code === 'commander.help') return ExitCodes.ok;
      return report(io, new RulesctlError(ErrorCodes.USAGE, err.message.replace(/^error: /, ''), { hint: `Run '${usageOf(program, args)} --help' for usage.` }), args);
    }
    return report(io, err, args);
  }
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** The program and the commands argv names, in dispatch order. */
function commandPath(program: Command, argv: readonly string[]): Command[] {
  const path = [program];
  for (const a of argv) {
    if (a === '--') break;
    const cmd = path[path.length - 1]!;
    if (a.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (sub) path.push(sub);
    else if (cmd !== program) break;
  }
  return path;
}

/** The option `flag` (`--plain-http`, `-t`) names on the path; the program's first, as commander consumes them first. */
function findOption(path: readonly Command[], flag: string): Option | undefined {
  for (const cmd of path) {
    const o = cmd.options.find((opt) => opt.long === flag || opt.short === flag);
    if (o) return o;
  }
  return undefined;
}

const isBoolean = (o: Option) => !o.required && !o.optional;

/** pflag's reading of `--flag=value` for a bool flag (strconv.ParseBool): keep the flag, drop it, or a usage error. */
function boolFlag(o: Option, flag: string, value: string): string[] {
  if (GO_TRUE.has(value)) return [flag];
  if (GO_FALSE.has(value)) return [];
  const name = o.short && o.long ? `${o.short}, ${o.long}` : flag;
  throw new RulesctlError(ErrorCodes.USAGE, `invalid argument "${value}" for "${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
}

/**
 * Rewrites argv into what commander reads the way Go's pflag reads it (falcoctl.md §6): a bool
 * flag takes `=<ParseBool value>` (`--plain-http=true`; `=false` means not given, so
 * `--no-verify=false` verifies), and `-t=foo` is `-t foo`. Nothing after `--` and no separate
 * value of a flag (`--name --x=1`) is touched. @throws ERR_USAGE for a bad bool value.
 */
export function normalizeArgv(program: Command, argv: readonly string[]): string[] {
  const path = commandPath(program, argv);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return [...out, ...argv.slice(i)];
    const long = /^(--[^=]+)=(.*)$/s.exec(a);
    const short = long ? null : /^(-[^-])=(.*)$/s.exec(a);
    const m = long ?? short;
    const o = m ? findOption(path, m[1]!) : undefined;
    if (m && o) {
      if (isBoolean(o)) out.push(...boolFlag(o, m[1]!, m[2]!));
      else out.push(...(short ? [m[1]!, m[2]!] : [a]));
      continue;
    }
    out.push(a);
    if (!m && a.startsWith('-') && findOption(path, a)?.required === true && i + 1 < argv.length) out.push(argv[++i]!);
  }
  return out;
}

function usageOf(program: Command, argv: string[]): string {
  const names: string[] = ['rulesctl'];
  let cmd: Command = program;
  // Skips options and their values (`--config x`): the first command names found, in order.
  for (const a of argv) {
    if (a.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) {
      if (cmd !== program) break;
      continue;
    }
    names.push(sub.name());
    cmd = sub;
  }
  return names.join(' ');
}

function report(io: CliIO, err: unknown, argv: string[]): number {
  const verbose = argv.includes('--verbose') || argv.includes('-v') || argv.some((a) => /^--log-level=(debug|trace)$/.test(a));
  const r = renderError(err, { verbose });
  const jsonLogs = argv.some((a) => a === '--log-format=json' || a === '--disable-styling') ||
    (argv.includes('--log-format') && argv[argv.indexOf('--log-format') + 1] === 'json');
  if (jsonLogs) {
    io.stderr.write(`${JSON.stringify({ code: r.json.code, ...(r.json.hint ? { hint: r.json.hint } : {}), level: 'ERROR', msg: r.json.message })}\n`);
  } else {
    io.stderr.write(r.text);
  }
  return r.exitCode;
}
