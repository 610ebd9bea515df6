import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl artifact config` (not implemented yet). */
export function configCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('config')
    .description('Print the config layer of an artifact')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl artifact config is not implemented yet');
    }));
}
