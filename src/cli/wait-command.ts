import type { Command } from 'commander';
import { PortwatchError } from '../errors.js';
import { waitForPort } from '../wait.js';
import { addTargetOptions, toScanOptions, type RawTargetOptions } from './common-options.js';
import { formatTable, styleFor, parseColorChoice } from './format.js';
import { createLogger } from './logger.js';
import { parseDuration, parsePortList } from './parse-args.js';

interface WaitCliOptions extends RawTargetOptions {
  color?: string;
  closed?: boolean;
  timeout?: string;
  udp?: boolean;
  any?: boolean;
  json?: boolean;
  interval?: string;
}

export function registerWait(program: Command): void {
  const cmd = program
    .command('wait')
    .argument('<ports>', 'port or comma-separated ports, e.g. 3000 or 3000,5173')
    .description('exit 0 as soon as every port is listening on any address (127.0.0.1, ::1, 0.0.0.0, ::, …); exit 1 on timeout');
  addTargetOptions(cmd)
    .option('--timeout <duration>', 'give up after DURATION (e.g. 30s) with exit 1; default: wait forever')
    .option('--udp', 'wait for UDP listeners instead of TCP')
    .option('--any', 'a TCP or UDP listener will do')
    .option('--color <when>', 'colours: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces them), always, never')
    .option('--json', 'print the listeners found as a JSON array')
    .option('--closed', 'wait until none of the ports listens (e.g. a server finishing its shutdown); prints nothing')
    .option('--interval <duration>', 'scan every DURATION; default: adaptive')
    .action(async (portsText: string, opts: WaitCliOptions) => {
      createLogger(opts.logLevel);
      const ports = parsePortList(portsText);
      const color = parseColorChoice(opts.color);
      const options = toScanOptions(opts);
      const timeout = opts.timeout === undefined ? undefined : parseDuration(opts.timeout, 'timeout');
      const interval = opts.interval === undefined ? undefined : parseDuration(opts.interval, 'interval');
      if (opts.udp && opts.any) throw new PortwatchError('EUSAGE', '--udp and --any cannot be used together');
      const controller = new AbortController();
      const onSignal = (): void => controller.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const listeners = await waitForPort(ports, {
          ...options,
          protocol: opts.any ? 'any' : opts.udp ? 'udp' : 'tcp',
          signal: controller.signal,
          ...(timeout !== undefined ? { timeout } : {}),
          ...(interval !== undefined ? { interval } : {}),
          ...(opts.closed ? { closed: true } : {}),
        });
        if (opts.closed) return;
        if (opts.json) process.stdout.write(`${JSON.stringify(listeners, null, 2)}\n`);
        else process.stdout.write(`${formatTable(listeners, styleFor(process.stdout, process.env, color))}\n`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
