import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl artifact follow` (not implemented yet). */
export function followCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('follow')
    .description('Follow artifacts and install new versions as they are published')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl artifact follow is not implemented yet');
    }));
}
