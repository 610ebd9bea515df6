import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import type { Action } from '../main.js';
import { versionCommand } from './version.js';
import { completionCommand } from './completion.js';

export type ActionWrapper = (io: CliIO, fn: Action) => (...args: unknown[]) => Promise<void>;

/** The command tree, as falcoctl's (artifact, index, registry, version) plus completion. */
export function registerCommands(program: Command, io: CliIO, action: ActionWrapper): void {
  program.addCommand(versionCommand(io, action));
  program.addCommand(completionCommand(io, action, program));
}
