import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl registry auth` (not implemented yet). */
export function authCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('auth')
    .description('Log in to registries (basic, oauth, gcp) and log out')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl registry auth is not implemented yet');
    }));
}
