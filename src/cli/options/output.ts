import { Option, type Command } from 'commander';

/**
 * `-o, --output text|json` on a command that prints a result. `short: false` for commands whose
 * `-o` means something else in falcoctl (`registry pull -o/--dest-dir`).
 */
export function addOutputOption(cmd: Command, opts: { short?: boolean } = {}): Command {
  const flags = opts.short === false ? '--output <format>' : '-o, --output <format>';
  return cmd.addOption(new Option(flags, 'output format for the result on stdout').choices(['text', 'json']).default('text'));
}
