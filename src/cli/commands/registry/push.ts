import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl registry push` (not implemented yet). */
export function pushCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('push')
    .description('Push a Falco rules file, plugin or asset to an OCI registry')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl registry push is not implemented yet');
    }));
}
