import type { Command } from 'commander';
import type { CliIO } from '../../io.js';
import type { ActionWrapper } from '../register.js';
import { printCommand } from './manifest.js';

/** `rulesctl artifact config REF` (falcoctl.md §6; REF a full reference or an index name): the raw config blob (a plugin's: the selected platform's) plus `\n`. */
export function configCommand(io: CliIO, action: ActionWrapper): Command {
  return printCommand(io, action, 'config', 'Get the config layer of an artifact');
}
