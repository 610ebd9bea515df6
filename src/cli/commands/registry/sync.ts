import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl registry sync` (not implemented yet). */
export function syncCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('sync')
    .description('Copy followed artifacts and their dependencies from one registry to another')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl registry sync is not implemented yet');
    }));
}
