import type { Command } from 'commander';
import { constants } from 'node:os';
import { isPortwatchError, PortwatchError } from '../errors.js';
import { narrowTracefsEvents, removeTracefsInstanceInBackground, tracefsInstanceNeedsExitHook } from '../triggers/tracefs.js';
import { waitForTargets } from '../wait-for-targets.js';
import type { TickEvent } from '../watch/watch-types.js';
import { eventInterestOf, parseWaitTargets } from '../wait-targets.js';
import { addTargetOptions, toScanOptions, type RawTargetOptions } from './common-options.js';
import { exitNow } from './exit-now.js';
import { formatTable, styleFor, parseColorChoice } from './format.js';
import { createLogger } from './logger.js';
import { parseDuration } from './parse-args.js';
import { userNames } from './table/users.js';

interface WaitCliOptions extends RawTargetOptions {
  color?: string;
  closed?: boolean;
  timeout?: string;
  udp?: boolean;
  any?: boolean;
  json?: boolean;
  interval?: string;
  status?: string[];
  insecure?: boolean;
}

const TARGETS_HELP =
  'what to wait for: ports (3000, 3000,5173, or 9000-9003 for each of them), tcp:[HOST:]PORT, udp:[HOST:]PORT ' +
  '(HOST: localhost, 127.0.0.1, [::1], …), or an http:// or https:// URL';

/** `--status 200 --status 204` or `--status 200,204`: HTTP status codes, 100-599. */
export function parseStatuses(values: readonly string[]): number[] {
  const codes = values
    .flatMap((v) => v.split(','))
    .map((text) => {
      const t = text.trim();
      const n = Number(t);
      if (!/^\d{3}$/.test(t) || n < 100 || n > 599)
        throw new PortwatchError('EUSAGE', `invalid --status '${text}': use an HTTP status, e.g. 200 or 200,204`);
      return n;
    });
  return [...new Set(codes)];
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * Writes the answer and ends the process as soon as it is out (exit-now.ts): scripts run
 * `portwatch wait 3000 && next`, and Node's orderly teardown (closing the watcher's handles,
 * joining threads, freeing the heap) adds 3–8 ms to every wait. Nothing is lost: the tracefs
 * instance is removed by its watchdog (removeTracefsInstanceInBackground), logs are written
 * synchronously, and stdout has taken the text when the callback runs. A write that failed
 * (EPIPE, EIO) resolves instead and takes main's way (output-guard.ts).
 */
function exitOnceWritten(text: string): Promise<void> {
  // Should the instance's watchdog be missing, the exit hook that removes it must run.
  const exit = (): never => (tracefsInstanceNeedsExitHook() ? process.exit() : exitNow());
  return new Promise((resolve) => {
    if (text === '') exit();
    else process.stdout.write(text, (err) => (err ? resolve() : exit()));
  });
}

export function registerWait(program: Command): void {
  const cmd = program
    .command('wait')
    .argument('<ports...>', TARGETS_HELP)
    .description(
      'exit 0 as soon as every target is ready: a port listening on any address (or on the one its HOST names), ' +
        'a URL answering below 500 once its port listens; exit 1 on timeout',
    );
  addTargetOptions(cmd)
    .option('--timeout <duration>', 'give up after DURATION (e.g. 30s) with exit 1; default: wait forever')
    .option('--udp', 'plain ports are UDP listeners instead of TCP')
    .option('--any', 'for plain ports, a TCP or UDP listener will do')
    .option('--color <when>', 'colours: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces them), always, never')
    .option('--json', 'print the listeners found as a JSON array')
    .option(
      '--closed',
      'wait until none of the ports listens (e.g. a server finishing its shutdown); prints nothing ([] with --json); not for URLs',
    )
    .option('--status <codes>', 'URLs: only these statuses count (repeatable or 200,204); default: any below 500', collect)
    .option('--insecure', 'https URLs: accept a certificate that does not verify (self-signed, another name)')
    .option('--interval <duration>', 'scan every DURATION; default: adaptive')
    .action(async (args: string[], opts: WaitCliOptions) => {
      const log = createLogger(opts.logLevel);
      if (opts.udp && opts.any) throw new PortwatchError('EUSAGE', '--udp and --any cannot be used together');
      const targets = parseWaitTargets(args, opts.any ? 'any' : opts.udp ? 'udp' : 'tcp');
      const color = parseColorChoice(opts.color);
      const options = toScanOptions(opts);
      const timeout = opts.timeout === undefined ? undefined : parseDuration(opts.timeout, 'timeout');
      const interval = opts.interval === undefined ? undefined : parseDuration(opts.interval, 'interval');
      const statuses = opts.status === undefined ? undefined : parseStatuses(opts.status);
      const urls = targets.filter((t) => t.kind === 'url');
      if (statuses !== undefined && urls.length === 0)
        throw new PortwatchError('EUSAGE', '--status applies to http:// and https:// targets only');
      if (opts.insecure && !urls.some((t) => t.secure)) throw new PortwatchError('EUSAGE', '--insecure applies to https:// targets only');
      const controller = new AbortController();
      let received: NodeJS.Signals | null = null;
      const onSignal = (signal: NodeJS.Signals): void => {
        received = signal;
        controller.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        // The command exits right after: the kernel's instance teardown need not delay it.
        removeTracefsInstanceInBackground();
        // Node builds process.stdout on first use (~0.5 ms): now, not between the port opening and the answer.
        const out = process.stdout;
        // The USER column names users as `list` does; /etc/passwd is read now, not after the port opens.
        const userName = opts.json || opts.closed ? undefined : userNames();
        userName?.(0);
        // Its one watcher cares about these ports only: other programs' port churn need not wake it.
        narrowTracefsEvents(eventInterestOf(targets));
        const { listeners, answers } = await waitForTargets(targets, {
          ...options,
          signal: controller.signal,
          ...(timeout !== undefined ? { timeout } : {}),
          ...(interval !== undefined ? { interval } : {}),
          ...(opts.closed ? { closed: true } : {}),
          ...(statuses !== undefined ? { statuses } : {}),
          ...(opts.insecure ? { insecure: true } : {}),
          ...(log.isLevelEnabled('debug') ? { onTick: (tick: TickEvent) => log.debug(tick, 'scan') } : {}),
        });
        const answered = (): string =>
          urls.map((t) => `${t.text} answered ${answers.find((a) => a.url === t.url.href)?.status ?? '?'}\n`).join('');
        // --closed prints nothing (an empty list with --json)
        await exitOnceWritten(
          opts.closed
            ? opts.json
              ? '[]\n' // still JSON for a script that parses it: nothing listens
              : ''
            : opts.json
              ? `${JSON.stringify(listeners, null, 2)}\n`
              : `${formatTable(listeners, styleFor(out, process.env, color), undefined, { userName })}\n${answered()}`,
        );
      } catch (e) {
        if (received === null || !isPortwatchError(e) || e.code !== 'EABORTED') throw e;
        // Interrupted: the status a shell reports for that signal (130 for SIGINT, 143 for SIGTERM).
        process.stderr.write(`portwatch: ${e.message}\n`);
        process.exitCode = 128 + constants.signals[received];
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
