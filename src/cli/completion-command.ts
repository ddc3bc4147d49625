/**
 * `portwatch completion bash|zsh|fish`: a completion script generated from the program
 * itself (its commands, aliases, options and arguments as commander knows them), so it
 * never lags behind a new flag. Values are completed where portwatch knows them: ports that
 * listen now (for arguments and options about ports; the script asks `portwatch list` at
 * TAB time), the choices of --source, --trigger, --color, --log-level and --signal, and
 * file names for <file> options.
 */
import { constants } from 'node:os';
import { Argument, type Command, type Option } from 'commander';
import { SOURCE_CHOICES } from '../scan.js';
import { TRIGGER_CHOICES } from '../triggers/trigger.js';
import { bashScript, fishScript, zshScript } from './completion-scripts.js';
import { COLOR_CHOICES } from './format.js';
import { LOG_LEVELS } from './logger.js';

/** What a value is completed with: live ports, file names, a fixed list, or nothing. */
export type ValueKind = { kind: 'ports' } | { kind: 'files' } | { kind: 'words'; words: string[] } | { kind: 'none' };

export interface OptionSpec {
  short: string | null;
  long: string | null;
  description: string;
  /** null: a flag without a value. */
  value: ValueKind | null;
}

export interface CommandSpec {
  /** '' for the program itself. */
  name: string;
  aliases: string[];
  description: string;
  options: OptionSpec[];
  /** What its positional arguments are completed with. */
  positional: ValueKind;
}

export interface CompletionSpec {
  program: string;
  root: CommandSpec;
  /** The command that runs when none is named (`portwatch --port 80` is watch). */
  defaultCommand: string | null;
  commands: CommandSpec[];
  /** How the script lists the ports that listen now: the arguments after the program name. */
  portsCommand: string[];
  /** Whether that command prints one port per line (-q) rather than JSON to pick `"port": N` from. */
  portsQuiet: boolean;
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
const SAFE_WORD = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

const KNOWN_VALUES: Record<string, readonly string[]> = {
  '--source': SOURCE_CHOICES,
  '--trigger': TRIGGER_CHOICES,
  '--color': COLOR_CHOICES,
  '--log-level': LOG_LEVELS,
  '--signal': Object.keys(constants.signals).map((s) => s.replace(/^SIG/, '')),
};

function words(list: readonly string[]): ValueKind {
  return { kind: 'words', words: list.filter((w) => SAFE_WORD.test(w)) };
}

function optionValue(o: Option): ValueKind | null {
  if (!o.required && !o.optional) return null;
  if (o.argChoices !== undefined) return words(o.argChoices);
  const known = o.long ? KNOWN_VALUES[o.long] : undefined;
  if (known !== undefined) return words(known);
  const valueName = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? '';
  if (o.long === '--port' || /port/.test(valueName)) return { kind: 'ports' };
  if (/file|path|dir/.test(valueName)) return { kind: 'files' };
  return { kind: 'none' };
}

function optionSpecs(cmd: Command): OptionSpec[] {
  return cmd
    .createHelp()
    .visibleOptions(cmd)
    .filter((o) => (o.long === undefined || SAFE_WORD.test(o.long.slice(2))) && (o.short === undefined || /^-[A-Za-z0-9]$/.test(o.short)))
    .map((o) => ({ short: o.short ?? null, long: o.long ?? null, description: o.description, value: optionValue(o) }));
}

function positional(cmd: Command): ValueKind {
  const first = cmd.registeredArguments[0];
  if (first === undefined) return { kind: 'none' };
  if (first.argChoices !== undefined) return words(first.argChoices);
  return /port/.test(first.name()) ? { kind: 'ports' } : { kind: 'none' };
}

function commandSpec(cmd: Command, name: string): CommandSpec {
  return {
    name,
    aliases: cmd.aliases().filter((a) => SAFE_WORD.test(a)),
    description: cmd.description().split('\n')[0] ?? '',
    options: optionSpecs(cmd),
    positional: positional(cmd),
  };
}

/** Everything a script needs, read from the program. */
export function completionSpec(program: Command): CompletionSpec {
  const visible = program.createHelp().visibleCommands(program);
  const commands = visible.filter((c) => SAFE_WORD.test(c.name())).map((c) => commandSpec(c, c.name()));
  const help = commands.find((c) => c.name === 'help');
  if (help) help.positional = words(commands.map((c) => c.name).filter((n) => n !== 'help'));
  // commander keeps the default command's name privately; the help lists it first among equals.
  const defaultName = (program as unknown as { _defaultCommandName?: string })._defaultCommandName ?? null;
  const list = program.commands.find((c) => c.name() === 'list');
  const listLongs = new Set(list?.options.map((o) => o.long) ?? []);
  const portsQuiet = listLongs.has('--quiet');
  const portsCommand = ['list', portsQuiet ? '--quiet' : '--json', ...(listLongs.has('--all') ? ['--all'] : [])];
  return { program: program.name(), root: commandSpec(program, ''), defaultCommand: defaultName, commands, portsCommand, portsQuiet };
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .addArgument(new Argument('<shell>', 'the shell to complete for').choices(SHELLS))
    .description('print a completion script for bash, zsh or fish: commands, options, and the ports listening now')
    .addHelpText(
      'after',
      `
Install:
  bash:  echo 'source <(portwatch completion bash)' >> ~/.bashrc
  zsh:   echo 'source <(portwatch completion zsh)' >> ~/.zshrc    (after compinit)
  fish:  portwatch completion fish > ~/.config/fish/completions/portwatch.fish`,
    )
    .action((shell: (typeof SHELLS)[number], _opts: unknown, cmd: Command) => {
      const spec = completionSpec(cmd.parent ?? program);
      const script = shell === 'bash' ? bashScript(spec) : shell === 'zsh' ? zshScript(spec) : fishScript(spec);
      process.stdout.write(script);
    });
}
