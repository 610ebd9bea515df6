import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl artifact search` (not implemented yet). */
export function searchCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('search')
    .description('Search artifacts in the configured indexes')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl artifact search is not implemented yet');
    }));
}
