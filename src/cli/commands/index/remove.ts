import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl index remove` (not implemented yet). */
export function indexRemoveCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('remove')
    .description('Remove indexes')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl index remove is not implemented yet');
    }));
}
