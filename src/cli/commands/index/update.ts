import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl index update` (not implemented yet). */
export function indexUpdateCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('update')
    .description('Update indexes')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl index update is not implemented yet');
    }));
}
