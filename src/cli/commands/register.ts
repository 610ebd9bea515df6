import { Command } from 'commander';
import type { CliIO } from '../io.js';
import type { Action } from '../main.js';

export type ActionWrapper = (io: CliIO, fn: Action) => (...args: unknown[]) => Promise<void>;
type Factory = (io: CliIO, action: ActionWrapper) => Command;

interface Spec {
  name: string;
  aliases?: string[];
  description: string;
  load: () => Promise<Factory>;
}

/**
 * The command tree, as falcoctl's (artifact, index, registry, version) plus completion and config.
 * Command modules are imported only when their command runs (start-up time: `rulesctl --version`
 * and `artifact list` must not load undici, sigstore or tar).
 */
const GROUPS: Record<string, { description: string; subs: Spec[] }> = {
  artifact: {
    description: 'Install, follow, search and inspect Falco artifacts',
    subs: [
      { name: 'search', description: 'Search artifacts in the configured indexes', load: async () => (await import('./artifact/search.js')).searchCommand },
      { name: 'install', description: 'Install artifacts and their dependencies', load: async () => (await import('./artifact/install.js')).installCommand },
      { name: 'list', aliases: ['ls'], description: 'List artifacts of the configured indexes', load: async () => (await import('./artifact/list.js')).listCommand },
      { name: 'info', description: 'Show the tags of artifacts', load: async () => (await import('./artifact/info.js')).infoCommand },
      { name: 'follow', description: 'Follow artifacts and install new versions as they are published', load: async () => (await import('./artifact/follow.js')).followCommand },
      { name: 'config', description: 'Print the config layer of an artifact', load: async () => (await import('./artifact/config.js')).configCommand },
      { name: 'manifest', description: 'Print the manifest of an artifact', load: async () => (await import('./artifact/manifest.js')).manifestCommand },
      { name: 'diff', description: 'Show which rules, macros and lists changed between two versions', load: async () => (await import('./artifact/diff.js')).diffCommand },
      { name: 'verify', description: 'Verify the signature of an artifact', load: async () => (await import('./artifact/verify.js')).verifyCommand },
    ],
  },
  index: {
    description: 'Manage the indexes artifacts are found in',
    subs: [
      { name: 'add', description: 'Add an index', load: async () => (await import('./index/add.js')).indexAddCommand },
      { name: 'list', aliases: ['ls'], description: 'List the configured indexes', load: async () => (await import('./index/list.js')).indexListCommand },
      { name: 'remove', aliases: ['rm'], description: 'Remove indexes', load: async () => (await import('./index/remove.js')).indexRemoveCommand },
      { name: 'update', description: 'Update indexes', load: async () => (await import('./index/update.js')).indexUpdateCommand },
    ],
  },
  registry: {
    description: 'Push, pull and log in to OCI registries',
    subs: [
      { name: 'auth', description: 'Log in to registries (basic, oauth, gcp) and log out', load: async () => (await import('./registry/auth.js')).authCommand },
      { name: 'push', description: 'Push a Falco rules file, plugin or asset to an OCI registry', load: async () => (await import('./registry/push.js')).pushCommand },
      { name: 'pull', description: 'Pull a Falco artifact from an OCI registry into a directory', load: async () => (await import('./registry/pull.js')).pullCommand },
      { name: 'sync', description: 'Copy followed artifacts and their dependencies from one registry to another', load: async () => (await import('./registry/sync.js')).syncCommand },
    ],
  },
};

const TOP: Spec[] = [
  { name: 'config', description: 'Show every setting with its value and where it came from', load: async () => (await import('./settings.js')).settingsCommand },
  { name: 'version', description: 'Print the rulesctl version information', load: async () => (await import('./version.js')).versionCommand },
];

const GLOBAL_WITH_VALUE = new Set(['--config', '--log-format', '--log-level']);

/** The command words of argv (`['artifact', 'install']`), skipping global options and their values. */
export function commandWords(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (GLOBAL_WITH_VALUE.has(a)) i++;
      continue;
    }
    words.push(a);
  }
  return words;
}

const matches = (s: Spec, word: string | undefined) => word !== undefined && (s.name === word || (s.aliases ?? []).includes(word));

function placeholder(s: Spec): Command {
  const c = new Command(s.name).description(s.description);
  for (const a of s.aliases ?? []) c.alias(a);
  return c;
}

/**
 * Adds the command tree to `program`. With `argv`, only the modules of the command it names are
 * loaded (every subcommand of a group for the group's help); the others are named placeholders.
 * Without `argv` (completion scripts, the tests walking the tree) every module is loaded.
 */
export async function registerCommands(program: Command, io: CliIO, action: ActionWrapper, argv?: readonly string[]): Promise<void> {
  const [first, second] = argv ? commandWords(argv) : [];
  const known = first !== undefined && (first in GROUPS || TOP.some((s) => s.name === first) || first === 'completion' || first === 'help');
  const loadAll = argv === undefined || !known || first === 'completion' || first === 'help';
  const build = async (s: Spec, wanted: boolean) => (loadAll || wanted ? (await s.load())(io, action) : placeholder(s));

  for (const [name, group] of Object.entries(GROUPS)) {
    const g = new Command(name).description(group.description);
    const inGroup = first === name;
    const subSelected = inGroup && group.subs.some((s) => matches(s, second));
    for (const s of group.subs) g.addCommand(await build(s, inGroup && (!subSelected || matches(s, second))));
    g.addHelpText('after', `\nExamples:\n  rulesctl ${name} --help\n  rulesctl ${name} ${group.subs[0]!.name} --help`);
    program.addCommand(g);
  }
  for (const s of TOP) program.addCommand(await build(s, first === s.name));
  const { completionCommand } = await import('./completion.js');
  program.addCommand(completionCommand(io, action, program));
}
