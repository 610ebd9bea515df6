import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl index add` (not implemented yet). */
export function indexAddCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('add')
    .description('Add an index')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl index add is not implemented yet');
    }));
}
