import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl artifact manifest` (not implemented yet). */
export function manifestCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('manifest')
    .description('Print the manifest of an artifact')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl artifact manifest is not implemented yet');
    }));
}
