import { Command } from 'commander';
import { ErrorCodes, RulesctlError } from '../../../errors.js';
import type { CliIO } from '../../../cli/io.js';
import type { ActionWrapper } from '../../../cli/commands/register.js';

/** `rulesctl registry pull` (not implemented yet). */
export function pullCommand(io: CliIO, action: ActionWrapper): Command {
  return new Command('pull')
    .description('Pull a Falco artifact from an OCI registry into a directory')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(action(io, async () => {
      throw new RulesctlError(ErrorCodes.USAGE, 'rulesctl registry pull is not implemented yet');
    }));
}
