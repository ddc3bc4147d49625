import type { Command } from 'commander';
import { PortwatchError } from '../errors.js';
import { removeTracefsInstanceInBackground } from '../triggers/tracefs.js';
import { describeAction, freePort, parseSignal, type FreePortResult } from '../free-port.js';
import { displayAddress } from '../listener.js';
import type { TickEvent } from '../watch/watch-types.js';
import { escapeControl } from '../text/escape.js';
import { addTargetOptions, toScanOptions, type RawTargetOptions } from './common-options.js';
import { createLogger } from './logger.js';
import { parseDuration, parsePortList } from './parse-args.js';

interface KillCliOptions extends RawTargetOptions {
  signal: string;
  grace: string;
  udp?: boolean;
  any?: boolean;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
  interval?: string;
}

/** What was done, one line per pid on stdout; refusals, failures and ports still taken on stderr. */
function report(result: FreePortResult, how: { killSignal: NodeJS.Signals; grace: number }, protocol: string, dryRun: boolean): void {
  for (const a of result.actions) {
    const line = describeAction(a, how);
    if (a.outcome === 'refused' || a.outcome === 'failed' || a.outcome === 'survived') process.stderr.write(`portwatch: ${line}\n`);
    else process.stdout.write(`${line}\n`);
  }
  for (const p of result.ports) {
    const what = `${protocol}port ${p.port}`;
    if (p.free && !result.actions.some((a) => a.listeners.some((l) => l.port === p.port)))
      process.stdout.write(`${what}: nothing listens\n`);
    else if (!p.free && !dryRun) {
      const who = p.listeners.map(
        (l) => `${displayAddress(l)} ${l.process ? `pid ${l.process.pid} (${l.process.name})` : '(owner unknown)'}`,
      );
      process.stderr.write(`portwatch: ${what} is still taken: ${escapeControl(who.join(', '))}\n`);
    }
  }
}

export function registerKill(program: Command): void {
  const cmd = program
    .command('kill')
    .argument('<ports...>', 'ports, e.g. 3000, 3000,5173 or 3000 5173')
    .description('free ports: signal what holds each, wait until it lets go, SIGKILL after --grace; exit 0 when all are free, 1 if not');
  addTargetOptions(cmd)
    .option('--signal <name>', 'the first signal: TERM, INT, HUP, KILL, … or a number', 'TERM')
    .option('--grace <duration>', 'how long to wait after it before SIGKILL', '5s')
    .option('--udp', 'UDP listeners instead of TCP')
    .option('--any', 'TCP and UDP listeners')
    .option('--dry-run', 'say what would be signalled, signal nothing (exit 1 if something would be refused)')
    .option('--force', "also signal pid 1 and portwatch's ancestors (the shell or agent running it)")
    .option('--json', 'print the result as JSON: {free, ports, actions}')
    .option('--interval <duration>', 'scan every DURATION while waiting; default 100ms')
    .action(async (portsTexts: string[], opts: KillCliOptions) => {
      const log = createLogger(opts.logLevel);
      const ports = [...new Set(portsTexts.flatMap((text) => parsePortList(text)))];
      if (opts.udp && opts.any) throw new PortwatchError('EUSAGE', '--udp and --any cannot be used together');
      const killSignal = parseSignal(opts.signal);
      const grace = parseDuration(opts.grace, 'grace');
      const interval = opts.interval === undefined ? undefined : parseDuration(opts.interval, 'interval');
      const scan = toScanOptions(opts);
      const protocol = opts.any ? 'any' : opts.udp ? 'udp' : 'tcp';
      const controller = new AbortController();
      const onSignal = (): void => controller.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        // The command exits right after: the kernel's instance teardown need not delay it.
        removeTracefsInstanceInBackground();
        const result = await freePort(ports, {
          ...scan,
          protocol,
          killSignal,
          grace,
          signal: controller.signal,
          ...(interval !== undefined ? { interval } : {}),
          ...(opts.dryRun ? { dryRun: true } : {}),
          ...(opts.force ? { force: true } : {}),
          ...(log.isLevelEnabled('debug') ? { onTick: (tick: TickEvent) => log.debug(tick, 'scan') } : {}),
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else report(result, { killSignal, grace }, protocol === 'any' ? '' : `${protocol} `, opts.dryRun === true);
        const refused = result.actions.some((a) => a.outcome === 'refused' || a.outcome === 'failed');
        process.exitCode = (opts.dryRun ? refused : !result.free) ? 1 : 0;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
