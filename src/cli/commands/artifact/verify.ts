import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl artifact verify` (not implemented yet). */
export function verifyCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('verify')
    .description('Verify the signature of an artifact')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl artifact verify is not implemented yet');
    }));
}
