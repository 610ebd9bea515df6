import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl artifact install` (not implemented yet). */
export function installCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('install')
    .description('Install artifacts and their dependencies')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl artifact install is not implemented yet');
    }));
}
