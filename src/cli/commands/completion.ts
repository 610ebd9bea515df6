import { Command } from 'commander';
import type { CliIO } from '../io.js';
import type { ActionWrapper } from './register.js';
import { ErrorCodes, RulesctlError } from '../../errors.js';

interface Node { path: string[]; subs: string[]; flags: string[] }

function walk(cmd: Command, path: string[], out: Node[]): void {
  const flags = cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));
  out.push({ path, subs: cmd.commands.map((c) => c.name()), flags: [...flags, '--help'] });
  for (const c of cmd.commands) walk(c, [...path, c.name()], out);
}

/** `rulesctl completion bash|zsh|fish`: static completion scripts generated from the command tree. */
export function completionCommand(io: CliIO, action: ActionWrapper, program: Command): Command {
  return new Command('completion')
    .description('Print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText('after', '\nExamples:\n  source <(rulesctl completion bash)\n  rulesctl completion fish > ~/.config/fish/completions/rulesctl.fish')
    .action(action(io, async (rt, args) => {
      const shell = String(args[0]);
      const nodes: Node[] = [];
      walk(program, [], nodes);
      if (shell === 'bash' || shell === 'zsh') rt.io.stdout.write(bashScript(nodes, shell === 'zsh'));
      else if (shell === 'fish') rt.io.stdout.write(fishScript(nodes));
      else throw new RulesctlError(ErrorCodes.USAGE, `unsupported shell "${shell}"`, { hint: 'Use one of: bash, zsh, fish.' });
    }));
}

function bashScript(nodes: Node[], zsh: boolean): string {
  const cases = nodes
    .map((n) => `    "${n.path.join(' ')}") words="${[...n.subs, ...n.flags].join(' ')}" ;;`)
    .join('\n');
  return `${zsh ? 'autoload -U +X bashcompinit && bashcompinit\n' : ''}_rulesctl() {
  local cur path="" w i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    path="\${path:+$path }$w"
  done
  case "$path" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _rulesctl rulesctl
`;
}

function fishScript(nodes: Node[]): string {
  const lines = ['complete -c rulesctl -f'];
  for (const n of nodes) {
    const cond = n.path.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${n.path[n.path.length - 1]}`;
    for (const s of n.subs) lines.push(`complete -c rulesctl -n '${cond}' -a ${s}`);
  }
  return lines.join('\n') + '\n';
}
