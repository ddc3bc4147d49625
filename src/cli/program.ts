/**
 * The portwatch program: its commands, and `main` which runs one and turns what it throws
 * into a message and an exit code: 0 done, 1 failed (e.g. wait timed out), 2 usage error (bad
 * flag or value, source not available here), 130 interrupted wait. Loaded by main.ts, after
 * the heap's flags for long-running commands and before them for quick ones.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isPortwatchError } from '../errors.js';
import { registerForward } from './forward-command.js';
import { registerCompletion } from './completion-command.js';
import { registerKill } from './kill-command.js';
import { registerList } from './list-command.js';
import { registerMcp } from './mcp-command.js';
import { registerRun } from './run-command.js';
import { registerServe } from './serve-command.js';
import { registerWait } from './wait-command.js';
import { registerWatch } from './watch-command.js';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('portwatch')
    .description('Watch listening TCP and UDP ports and the processes that own them.')
    .version(version())
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`portwatch: ${text.replace(/^error: /, '')}`) });
  registerWatch(program);
  registerList(program);
  registerWait(program);
  registerServe(program);
  registerRun(program);
  registerMcp(program);
  registerForward(program);
  registerKill(program);
  registerCompletion(program);
  for (const cmd of program.commands)
    cmd.exitOverride().configureOutput({ outputError: (text, write) => write(`portwatch: ${text.replace(/^error: /, '')}`) });
  return program;
}

/** Bare `portwatch` means watch, so a mistyped command would otherwise read as a watch argument. */
function unknownCommand(program: Command, argv: string[]): string | null {
  const first = argv[2];
  // `portwatch 8080`, `portwatch :3000-3010`: ports for watch, which says if they are bad.
  if (first === undefined || first.startsWith('-') || /^:?\d/.test(first)) return null;
  const names = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  if (names.includes(first) || first === 'help') return null;
  const near = names.filter((n) => editDistance(n, first) <= Math.max(1, Math.floor(n.length / 3)));
  const hint = near.length > 0 ? `; did you mean ${near.map((n) => `'${n}'`).join(' or ')}?` : '';
  return `unknown command '${first}'${hint} (commands: ${program.commands.map((c) => c.name()).join(', ')})`;
}

/** Optimal string alignment distance: a swap of two letters (lsit → list) counts as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const program = buildProgram();
    const unknown = unknownCommand(program, argv);
    if (unknown !== null) {
      process.stderr.write(`portwatch: ${unknown}\n`);
      return EXIT_USAGE;
    }
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0; // a command that set its own status (kill)
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE; // commander printed the message
    if (isPortwatchError(e)) {
      process.stderr.write(`portwatch: ${e.message}\n`);
      switch (e.code) {
        case 'EUSAGE':
        case 'ESOURCE_UNAVAILABLE':
        case 'ENOPROCESS':
          return EXIT_USAGE;
        case 'EABORTED':
          return EXIT_INTERRUPTED;
        default:
          return EXIT_FAILURE;
      }
    }
    process.stderr.write(`portwatch: ${(e as Error).message ?? String(e)}\n`);
    return EXIT_FAILURE;
  }
}
