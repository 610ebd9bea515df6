import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl artifact diff` (not implemented yet). */
export function diffCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('diff')
    .description('Show which rules, macros and lists changed between two versions')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl artifact diff is not implemented yet');
    }));
}
