/**
 * portwatch run [options] -- COMMAND [ARGS…]: run a command, report the ports its process
 * tree opens and closes; the exit status (or the signal) is COMMAND's.
 */
import { TRIGGER_CHOICES, type TriggerChoice } from '../triggers/trigger.js';
import { closeSync, openSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { PortwatchError } from '../errors.js';
import type { Listener } from '../listener.js';
import { splitCommandLine } from '../run/command-line.js';
import { formatRunEvent, type RunEvent } from '../run/events.js';
import { parseReadySpec } from '../run/ready.js';
import { runCommand, type RunOutcome } from '../run/runner.js';
import type { TickEvent } from '../watch/watcher.js';
import { SOURCE_CHOICES, type SourceChoice } from '../scan.js';
import { addRulesOptions, toRules, type RawRulesOptions } from './common-options.js';
import { jsonEvent, jsonListener } from './format.js';
import { createLogger } from './logger.js';
import { parseDuration } from './parse-args.js';

interface RunCliOptions extends RawRulesOptions {
  ready?: string;
  readyExec?: string;
  exitWithReadyExec?: boolean;
  timeout?: string;
  grace: string;
  events?: string;
  hints: boolean;
  interval?: string;
  source: string;
  trigger: string;
  logLevel: string;
}

/** Signals raised again on ourselves so that our parent sees COMMAND's fate; others become 128+n. */
const RERAISED = new Set<NodeJS.Signals>(['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGKILL', 'SIGPIPE', 'SIGALRM', 'SIGUSR2']);

function exitLike(outcome: RunOutcome): never {
  const { signal } = outcome;
  if (signal === null) process.exit(outcome.code ?? 1);
  const number = constants.signals[signal] ?? 0;
  if (RERAISED.has(signal)) {
    process.kill(process.pid, signal);
    // Still here: the signal is ignored in this process (e.g. SIGHUP under nohup).
    setTimeout(() => process.exit(128 + number), 200).unref();
  }
  process.exit(128 + number);
}

type EventSink = { write(line: string): void; close(): void };

function openEvents(target: string): EventSink {
  if (target === '-') {
    process.stdout.on('error', () => {}); // a reader that went away must not stop COMMAND
    return { write: (line) => void process.stdout.write(line), close: () => {} };
  }
  let fd: number;
  try {
    fd = openSync(target, 'w');
  } catch (e) {
    throw new PortwatchError('EUSAGE', `--events ${target}: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return {
    write: (line) => {
      try {
        writeSync(fd, line);
      } catch {
        // a full disk must not stop COMMAND
      }
    },
    close: () => closeSync(fd),
  };
}

export function registerRun(program: Command): void {
  // Options after COMMAND belong to COMMAND (`portwatch run node server.js --port 3000`).
  program.enablePositionalOptions();
  const cmd = program
    .command('run')
    .usage('[options] -- COMMAND [ARGS…]')
    .description("run COMMAND and report the ports its process tree opens and closes; exit with COMMAND's status")
    .argument('<command...>', 'the command to run and its arguments')
    .passThroughOptions()
    .option('--ready <ports>', "report once these ports listen (e.g. 5173 or 3000,5173), or 'any' for the first port")
    .option('--ready-exec <command>', "then run this command (quoted; {port}, {host}, {url}, {pid} are filled in), e.g. 'xdg-open {url}'")
    .option('--exit-with-ready-exec', 'when the --ready-exec command ends, stop COMMAND and exit with its status (start-server-and-test)')
    .option('--timeout <duration>', 'if --ready does not hold within DURATION, stop COMMAND and exit 1')
    .option('--grace <duration>', "when portwatch stops COMMAND's tree, time between SIGTERM and SIGKILL", '5s')
    .option(
      '--events <file>',
      "write NDJSON events to FILE instead of lines on stderr; '-' for stdout (COMMAND's stdout then goes to stderr)",
    )
    .option('--no-hints', 'give COMMAND our stdout/stderr directly (a terminal stays a terminal) instead of reading them for URL hints')
    .option('--interval <duration>', 'scan every DURATION; default: adaptive')
    .option('--source <name>', `how to read sockets: ${SOURCE_CHOICES.join(', ')}`, 'auto')
    .option(
      '--trigger <name>',
      `when to look: ${TRIGGER_CHOICES.join(', ')} (auto: kernel events through tracefs as root, else polling)`,
      'auto',
    )
    .option('--log-level <level>', 'diagnostics on stderr: fatal, error, warn, info, debug, trace, silent', 'warn');
  addRulesOptions(cmd, 'report every listener of the tree, even those the config would ignore').action(
    async (words: string[], opts: RunCliOptions) => {
      const log = createLogger(opts.logLevel);
      if (!(SOURCE_CHOICES as readonly string[]).includes(opts.source))
        throw new PortwatchError('EUSAGE', `unknown source '${opts.source}': use one of ${SOURCE_CHOICES.join(', ')}`);
      if (!(TRIGGER_CHOICES as readonly string[]).includes(opts.trigger))
        throw new PortwatchError('EUSAGE', `unknown trigger '${opts.trigger}': use one of ${TRIGGER_CHOICES.join(', ')}`);
      const [command, ...args] = words as [string, ...string[]];
      const readyExec = opts.readyExec === undefined ? null : splitCommandLine(opts.readyExec);
      const ready = opts.ready !== undefined ? parseReadySpec(opts.ready) : readyExec !== null ? parseReadySpec('any') : null;
      if (opts.timeout !== undefined && ready === null)
        throw new PortwatchError('EUSAGE', '--timeout needs --ready (it bounds the wait for readiness)');
      if (opts.exitWithReadyExec && readyExec === null) throw new PortwatchError('EUSAGE', '--exit-with-ready-exec needs --ready-exec');
      const timeoutMs = opts.timeout === undefined ? null : parseDuration(opts.timeout, 'timeout');
      const stopGraceMs = parseDuration(opts.grace, 'grace');
      const interval = opts.interval === undefined ? undefined : parseDuration(opts.interval, 'interval');
      if (interval !== undefined && interval < 10)
        throw new PortwatchError('EUSAGE', `interval ${opts.interval} is too short: use at least 10ms`);
      // The tree is what was asked for: PORTWATCH_IGNORE and "own listeners" do not apply inside it; the config does.
      const rules = toRules(opts, { ignoreMarked: false, ignoreOwn: false });
      const sink = opts.events === undefined ? null : openEvents(opts.events);

      const report = (e: RunEvent): void => {
        if (sink === null || e.type === 'timeout' || e.type === 'still-running') {
          const line = formatRunEvent(e, command, rules.label);
          if (line !== null) process.stderr.write(`${line}\n`);
        }
        if (sink === null) return;
        const labelled = (l: Listener): unknown => jsonListener(l, rules);
        const json =
          e.type === 'open' || e.type === 'close'
            ? jsonEvent(e, rules)
            : e.type === 'ready'
              ? { ...e, listeners: e.listeners.map(labelled) }
              : e.type === 'orphan'
                ? { ...e, listener: labelled(e.listener) }
                : e;
        sink.write(`${JSON.stringify(json)}\n`);
      };

      const outcome = await runCommand({
        command,
        args,
        watch: {
          source: opts.source as SourceChoice,
          trigger: opts.trigger as TriggerChoice,
          ...(interval !== undefined ? { interval } : {}),
        },
        rules,
        ready,
        readyExec,
        exitWithReadyExec: opts.exitWithReadyExec ?? false,
        timeoutMs,
        stopGraceMs,
        hints: opts.hints,
        childStdout: opts.events === '-' ? 'stderr' : 'stdout',
        report,
        warn: (message) => process.stderr.write(`portwatch: ${message}\n`),
        onScanError: (err) => log.warn({ code: (err as PortwatchError).code }, `scan failed, retrying: ${err.message}`),
        ...(log.isLevelEnabled('debug') ? { onTick: (tick: TickEvent) => log.debug(tick, 'scan') } : {}),
      });
      sink?.close();
      exitLike(outcome);
    },
  );
}
