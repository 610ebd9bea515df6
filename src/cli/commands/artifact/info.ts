import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl artifact info` (not implemented yet). */
export function infoCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('info')
    .description('Show the tags of artifacts')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl artifact info is not implemented yet');
    }));
}
