import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl index list` (not implemented yet). */
export function indexListCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('list')
    .description('List the configured indexes')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl index list is not implemented yet');
    }));
}
