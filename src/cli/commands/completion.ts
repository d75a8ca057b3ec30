// xvtep completion bash|zsh: a completion script generated from the commands
// as commander knows them (so it cannot drift from the CLI): commands,
// subcommands, options, directories after --pin-dir and files after -c and
// -batch. zsh runs the same function through bashcompinit.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { EDIT_SPECS } from './edits.js';

/** Options that take a value, and what kind of word completes it. */
const VALUE_KIND: Record<string, 'dir' | 'file' | 'none'> = { '--pin-dir': 'dir', '-c': 'file', '--config': 'file', '-batch': 'file', '--batch': 'file', '-b': 'file' };

const optionsOf = (c: Command) => c.options.flatMap((o) => [o.short, o.long].filter((x): x is string => !!x));

function bashScript(program: Command): string {
  const cases: string[] = [];
  const top = program.commands.map((c) => c.name());
  cases.push(`    "") words="${[...top, '-batch', '-force', '--help', '--version'].join(' ')}" ;;`);
  const valued = new Set<string>(Object.keys(VALUE_KIND));
  for (const c of program.commands) {
    const subs = c.name() === 'completion' ? ['bash', 'zsh'] : c.commands.map((s) => s.name());
    cases.push(`    "${c.name()}") words="${[...subs, ...optionsOf(c), '--help'].join(' ')}" ;;`);
    for (const s of c.commands) {
      const spec = EDIT_SPECS.find((e) => e.group === c.name() && e.verb === s.name());
      const kw = spec ? [...Object.keys(spec.keywords), ...(spec.words ?? [])] : [];
      cases.push(`    "${c.name()} ${s.name()}") words="${[...kw, ...optionsOf(s), '--help'].join(' ')}" ;;`);
    }
    for (const o of [c, ...c.commands].flatMap((x) => x.options)) {
      if (o.required || o.optional) for (const f of [o.short, o.long]) if (f) valued.add(f);
    }
  }
  const dirs = Object.entries(VALUE_KIND).filter(([, k]) => k === 'dir').map(([o]) => o);
  const files = Object.entries(VALUE_KIND).filter(([, k]) => k === 'file').map(([o]) => o);
  const other = [...valued].filter((o) => !(o in VALUE_KIND));
  return `# xvtep completion for bash (xvtep completion bash)
_xvtep() {
  local cur prev path="" i w words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    ${dirs.join('|')}) COMPREPLY=( $(compgen -d -- "$cur") ); return ;;
    ${files.join('|')}) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    ${other.join('|')}) COMPREPLY=(); return ;;
  esac
  # the command path: the first two words that are neither options nor their values
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      ${[...valued].join('|')}) (( i++ )) ;;
      -*) ;;
      *) [[ "$path" == *" "* ]] || path="\${path:+$path }$w" ;;
    esac
  done
  # a keyword's value, after the command's two words
  if [[ "$path" == *" "* ]]; then
    case "$prev" in
      dev|endpoint) COMPREPLY=( $(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur") ); return ;;
      learning|proxy|allow-unknown-peers) COMPREPLY=( $(compgen -W "on off" -- "$cur") ); return ;;
      vni|dst|lladdr) COMPREPLY=(); return ;;
    esac
  fi
  case "$path" in
${cases.join('\n')}
    *) words="" ;;
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -o filenames -F _xvtep xvtep
`;
}

function zshScript(program: Command): string {
  return `#compdef xvtep
# xvtep completion for zsh (xvtep completion zsh): the bash function through bashcompinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(program).replace(/^# xvtep completion for bash.*\n/, '')}`;
}

export function registerCompletion(program: Command, all: () => Promise<Command>): void {
  program.command('completion <shell>').description('print a completion script: completion bash|zsh (e.g. xvtep completion bash > /etc/bash_completion.d/xvtep)')
    .action(async (shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`completion: "${shell}" is not a shell this knows (bash or zsh)`);
      const full = await all();
      process.stdout.write(shell === 'bash' ? bashScript(full) : zshScript(full));
    });
}
