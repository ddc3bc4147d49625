import type { Command } from 'commander';
import type { Listener, PortEvent } from '../listener.js';
import { PortwatchError } from '../errors.js';
import type { SocketFields } from '../scan.js';
import { watch, type PortWatcher } from '../watch/watcher.js';
import type { ChangeEvent, PortWatcherEvents, UpdateEvent } from '../watch/watcher.js';
import type { EventEmitter } from 'node:events';
import { watchHost } from '../engine/host-watcher.js';
import type { NamespaceEvent } from '../engine/host-watch-types.js';
import {
  addDisplayOptions,
  addFilterOptions,
  addHostOptions,
  addRulesOptions,
  addTargetOptions,
  portArguments,
  PORTS_ARGUMENT,
  toContainerFilter,
  toFilter,
  toHostMode,
  toRules,
  toScanOptions,
  type RawDisplayOptions,
  type RawFilterOptions,
  type RawHostOptions,
  type RawRulesOptions,
  type RawTargetOptions,
} from './common-options.js';
import { batchLine, formatEvent, formatNamespaceEvent, formatTable, jsonEvent, styleFor, parseColorChoice } from './format.js';
import { createLogger } from './logger.js';
import { onOutputGone } from './output-guard.js';
import { parseDuration } from './parse-args.js';
import { privilegesHint } from './table/privileges-hint.js';
import { userNames } from './table/users.js';

interface WatchCliOptions extends RawTargetOptions, RawFilterOptions, RawRulesOptions, RawDisplayOptions, RawHostOptions {
  color?: string;
  json?: boolean;
  batch?: boolean;
  interval?: string;
}

/**
 * What a port filter (--port, ports as arguments, --tcp/--udp) asks of a socket, as the
 * watcher's `select`: it needs no owner, so the sockets it refuses are never attributed and a
 * busy host's first scan does not walk /proc for them. Undefined when it refuses nothing.
 */
function portSelect(opts: RawFilterOptions, port: string | undefined): ((socket: SocketFields) => boolean) | undefined {
  if (port === undefined && Boolean(opts.tcp) === Boolean(opts.udp)) return undefined;
  const byPort = toFilter({ tcp: opts.tcp, udp: opts.udp, port });
  return (socket) => byPort({ ...socket, process: null }); // the same rule, before any owner is known
}

export function registerWatch(program: Command): void {
  const cmd = program
    .command('watch', { isDefault: true })
    .description('print the listening ports, then one line per port opened or closed, until Ctrl-C')
    .argument(...PORTS_ARGUMENT);
  addDisplayOptions(addRulesOptions(addFilterOptions(addHostOptions(addTargetOptions(cmd)), { portArguments: true })))
    .option('--color <when>', 'colours: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces them), always, never')
    .option(
      '--json',
      'print NDJSON: one event per line: open, close, update (an owner or container found late), with -A namespace-open/-close',
    )
    .option('--batch', 'with --json: one line per scan that changed anything, {"time","opened":[…],"closed":[…]}')
    .option('--interval <duration>', 'scan every DURATION (e.g. 250ms, 2s); default: adaptive, under 0.3% of one core')
    .action(async (ports: string[], opts: WatchCliOptions) => {
      const log = createLogger(opts.logLevel);
      const options = toScanOptions(opts);
      const host = toHostMode(opts);
      const color = parseColorChoice(opts.color);
      const inContainer = toContainerFilter(host.container);
      const port = portArguments(ports, opts.port);
      const portFilter = toFilter({ ...opts, port });
      const select = portSelect(opts, port);
      const filter = (l: Listener): boolean => portFilter(l) && inContainer(l);
      if (opts.batch && !opts.json) throw new PortwatchError('EUSAGE', '--batch needs --json (it prints one JSON line per change set)');
      const rules = toRules(opts);
      const interval = opts.interval === undefined ? undefined : parseDuration(opts.interval, 'interval');
      if (interval !== undefined && interval < 10)
        throw new PortwatchError('EUSAGE', `interval ${opts.interval} is too short: use at least 10ms`);
      if (interval !== undefined && host.all)
        throw new PortwatchError('EUSAGE', '--interval cannot be used with -A: every namespace is looked at within a CPU budget instead');
      const style = styleFor(process.stdout, process.env, color);
      if (opts.trunc === false) style.width = undefined;
      // What is listed and what is announced pass the same filter; silent listeners are listed only.
      const watchOptions = { filter: (l: Listener) => filter(l) && rules.filter(l), persistent: true };
      const hostWatcher = host.all
        ? watchHost({ ...watchOptions, source: options.source as 'auto' | 'sockdiag' | 'procfs', trigger: options.trigger })
        : null;
      const portWatcher =
        hostWatcher === null
          ? watch({
              ...options,
              ...watchOptions,
              ...(select !== undefined ? { select } : {}),
              ...(interval !== undefined ? { interval } : {}),
            })
          : null;
      // What both kinds of watcher say alike.
      const watcher = (hostWatcher ?? portWatcher) as unknown as EventEmitter<
        Pick<PortWatcherEvents, 'ready' | 'open' | 'close' | 'update' | 'change' | 'error'>
      > &
        Pick<PortWatcher, 'source' | 'trigger' | 'triggerFallback' | 'close'>;

      const write = (text: string): void => void process.stdout.write(`${text}\n`);
      const print = (e: PortEvent): void => {
        if (!rules.announce(e.listener)) return;
        write(opts.json ? JSON.stringify(jsonEvent(e, rules)) : formatEvent(e, style, rules.label, { netns: host.all }));
      };
      // With --container, only that container's namespaces come and go in the output.
      const printNamespace = (e: NamespaceEvent): void => {
        if (host.container !== null && !inContainer({ container: e.container } as Listener)) return;
        write(opts.json ? JSON.stringify(e) : formatNamespaceEvent(e, style));
      };
      const printBatch = (c: ChangeEvent): void => {
        const line = batchLine(c, rules);
        if (line !== null) write(line);
      };
      watcher.on('ready', (listeners) => {
        // Nothing listening: no header over nothing; the line on stderr says "watching 0".
        if (!opts.json && listeners.length > 0) {
          write(formatTable(listeners, style, rules.label, { group: opts.group ?? true, userName: userNames(), netns: host.all }));
        }
        const config = rules.file === null ? '' : ` (rules: ${rules.file})`;
        process.stderr.write(
          `portwatch: watching ${listeners.length} listener(s) via ${watcher.source}, trigger ${watcher.trigger}${config}; Ctrl-C to stop\n`,
        );
        const hint = opts.json ? null : privilegesHint(listeners, process.geteuid?.());
        if (hint !== null) process.stderr.write(`${hint}\n`);
        for (const line of hostWatcher?.missing() ?? []) process.stderr.write(`portwatch: not seen: ${line}\n`);
      });
      if (watcher.triggerFallback !== null) log.info(`trigger: polling (not tracefs: ${watcher.triggerFallback})`);
      if (log.isLevelEnabled('debug')) portWatcher?.on('tick', (tick) => log.debug(tick, 'scan'));
      if (opts.batch) watcher.on('change', printBatch);
      else {
        watcher.on('close', print);
        watcher.on('open', print);
      }
      if (!opts.batch) {
        // A listener announced before, now better known: its owner found late (a long first owner
        // search), its container named late (-A). Its readers get the better listener.
        const printUpdate = (e: UpdateEvent): void => {
          if (!rules.announce(e.listener)) return;
          write(
            opts.json
              ? JSON.stringify(jsonEvent(e as unknown as PortEvent, rules))
              : formatEvent(e, style, rules.label, { netns: host.all }),
          );
        };
        watcher.on('update', printUpdate);
      }
      if (hostWatcher !== null && !opts.batch) {
        hostWatcher.on('namespace-open', printNamespace);
        hostWatcher.on('namespace-close', printNamespace);
      }
      let gone: PortwatchError | null = null;
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void watcher.close().then(resolve);
        };
        watcher.on('error', (err) => {
          // The watched namespace's process exited: nothing left to watch, so say so and stop.
          if ((err as PortwatchError).code === 'ENOPROCESS') {
            gone = err as PortwatchError;
            stop();
            return;
          }
          log.warn({ code: (err as PortwatchError).code }, `scan failed, retrying: ${err.message}`);
        });
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        // A reader that went away (`portwatch watch | head`) is a normal way to stop.
        onOutputGone(stop);
      });
      if (gone !== null) throw new PortwatchError('ESCAN', (gone as PortwatchError).message);
    });
}
