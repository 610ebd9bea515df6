import { Command } from 'commander';
import type { CliIO } from '../io.js';
import type { Action } from '../main.js';
import { versionCommand } from './version.js';
import { completionCommand } from './completion.js';
import { settingsCommand } from './settings.js';
import { pushCommand } from './registry/push.js';
import { pullCommand } from './registry/pull.js';
import { authCommand } from './registry/auth.js';
import { syncCommand } from './registry/sync.js';
import { installCommand } from './artifact/install.js';
import { searchCommand } from './artifact/search.js';
import { listCommand } from './artifact/list.js';
import { infoCommand } from './artifact/info.js';
import { followCommand } from './artifact/follow.js';
import { diffCommand } from './artifact/diff.js';
import { manifestCommand } from './artifact/manifest.js';
import { configCommand } from './artifact/config.js';
import { verifyCommand } from './artifact/verify.js';
import { indexAddCommand } from './index/add.js';
import { indexListCommand } from './index/list.js';
import { indexRemoveCommand } from './index/remove.js';
import { indexUpdateCommand } from './index/update.js';

export type ActionWrapper = (io: CliIO, fn: Action) => (...args: unknown[]) => Promise<void>;

function group(name: string, description: string, subs: Command[]): Command {
  const g = new Command(name).description(description);
  for (const s of subs) g.addCommand(s);
  return g;
}

/** The command tree, as falcoctl's (artifact, index, registry, version) plus completion and config. */
export function registerCommands(program: Command, io: CliIO, action: ActionWrapper): void {
  program.addCommand(group('artifact', 'Install, follow, search and inspect Falco artifacts', [
    searchCommand(io, action), installCommand(io, action), listCommand(io, action), infoCommand(io, action),
    followCommand(io, action), configCommand(io, action), manifestCommand(io, action),
    diffCommand(io, action), verifyCommand(io, action),
  ]));
  program.addCommand(group('index', 'Manage the indexes artifacts are found in', [
    indexAddCommand(io, action), indexListCommand(io, action), indexRemoveCommand(io, action), indexUpdateCommand(io, action),
  ]));
  program.addCommand(group('registry', 'Push, pull and log in to OCI registries', [
    authCommand(io, action), pushCommand(io, action), pullCommand(io, action), syncCommand(io, action),
  ]));
  program.addCommand(settingsCommand(io, action));
  program.addCommand(versionCommand(io, action));
  program.addCommand(completionCommand(io, action, program));
}
