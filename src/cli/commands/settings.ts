import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../errors.js';
import type { CliIO } from '../../cli/io.js';
import type { ActionWrapper } from '../../cli/commands/register.js';

/** `rulesctl config` (not implemented yet). */
export function settingsCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('config')
    .description('Show every setting with its value and where it came from')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl config is not implemented yet');
    }));
}
