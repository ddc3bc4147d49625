#!/usr/bin/env node
/**
 * The portwatch command. Exit codes: 0 done, 1 failed (e.g. wait timed out),
 * 2 usage error (bad flag or value, source not available here), 130 interrupted wait.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isPortwatchError } from '../errors.js';
import { registerList } from './list-command.js';
import { registerMcp } from './mcp-command.js';
import { guardOutput } from './output-guard.js';
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
  for (const cmd of program.commands)
    cmd.exitOverride().configureOutput({ outputError: (text, write) => write(`portwatch: ${text.replace(/^error: /, '')}`) });
  return program;
}

/** Bare `portwatch` means watch, so a mistyped command would otherwise read as a watch argument. */
function unknownCommand(program: Command, argv: string[]): string | null {
  const first = argv[2];
  if (first === undefined || first.startsWith('-')) return null;
  const names = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  if (names.includes(first) || first === 'help') return null;
  return `unknown command '${first}' (commands: ${program.commands.map((c) => c.name()).join(', ')})`;
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
    return 0;
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

guardOutput();
process.exitCode = await main(process.argv);
