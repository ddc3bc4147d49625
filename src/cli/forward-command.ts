/**
 * `portwatch forward`: every TCP port the target listens on, reachable on this host's
 * loopback at the same port number.
 *
 *   portwatch forward --netns-pid PID          direct mode (Linux, root)
 *   portwatch forward --container NAME|ID      direct mode, the pid found through Docker/Podman
 *   portwatch forward http://HOST:4040         through a `portwatch serve` in the target (any OS)
 *
 * Direct mode can also serve (--serve [ADDR]): serve's page and API over the target's
 * listeners — from the watcher the forwarding already runs — plus /api/forwards and the
 * forward events, so the page shows where each port is reachable here. Through a serve
 * (URL) that serve already has the page; --serve is refused there.
 */
import type { Command } from 'commander';
import { PortwatchError } from '../errors.js';
import type { ForwardStreamEvent } from '../forward/events.js';
import type { ForwarderOptions } from '../forward/forwarder.js';
import { parsePortMap } from '../forward/policy.js';
import { isLoopbackHost } from '../serve/listen-address.js';
import { ForwardRegistry } from '../forward/forward-registry.js';
import { TargetWatcher } from '../forward/target-watcher.js';
import type { Rules } from '../rules/index.js';
import { addFilterOptions, addRulesOptions, toFilter, toRules, type RawFilterOptions, type RawRulesOptions } from './common-options.js';
import { checkTargetChoice, startTarget, type ForwardTarget, type RawTargetChoice } from './forward-targets.js';
import { bytesMoving } from './heap-flags.js';
import { createLogger } from './logger.js';
import { DEFAULT_LISTEN, serveAccess, servingLine } from './serve-command.js';
import { errorLine, forwardLine, openBrowser, unforwardLine } from './forward-lines.js';
import { onOutputGone } from './output-guard.js';
import { parseDuration, parsePortSpec, portInRanges } from './parse-args.js';

interface ForwardCliOptions extends RawFilterOptions, RawRulesOptions, RawTargetChoice {
  serve?: string | true;
  map?: string;
  bind?: string;
  allowNonLoopback?: boolean;
  json?: boolean;
  grace: string;
}

function forwarderOptions(opts: ForwardCliOptions, rules: Rules): Omit<ForwarderOptions, 'connector'> {
  if (opts.udp) throw new PortwatchError('EUSAGE', 'forward carries TCP only: --udp cannot be forwarded');
  const map = opts.map === undefined ? new Map<number, number>() : parsePortMap(opts.map);
  if (typeof map === 'string') throw new PortwatchError('EUSAGE', map);
  let bind: string[] | null = null;
  if (opts.bind !== undefined) {
    bind = opts.bind.split(',').map((a) => a.trim().replace(/^\[(.*)\]$/, '$1'));
    const open = bind.filter((a) => !isLoopbackHost(a));
    if (open.length > 0 && !opts.allowNonLoopback)
      throw new PortwatchError(
        'EUSAGE',
        `refusing to bind ${open.join(', ')}: other machines could then reach the target's ports; add --allow-non-loopback if that is what you want`,
      );
    if (open.length > 0) process.stderr.write(`portwatch: warning: forwards on ${open.join(', ')} are reachable from other machines\n`);
  }
  const filter = toFilter({ ...opts, tcp: true });
  const ports = opts.port === undefined ? null : parsePortSpec(opts.port);
  for (const other of rules.forwardPorts.filter((p) => p.host !== null))
    process.stderr.write(`portwatch: forwardPorts "${other.text}" names another host; only the target's own ports are forwarded\n`);
  return {
    rules: {
      filter: (l) => filter(l) && rules.filter(l),
      announce: (l) => rules.announce(l),
      label: (l) => rules.label(l),
      attributes: (l) => rules.attributes(l),
    },
    ports,
    map,
    bind,
    // Ahead of time only by port: who will own a port that does not listen yet is unknown.
    pinned: rules.forwardPorts.filter((p) => p.host === null && (ports === null || portInRanges(p.port, ports))).map((p) => p.port),
    graceMs: parseDuration(opts.grace, 'grace'),
    // Room for the heap while bytes go through JavaScript, compact again after (heap-flags.ts).
    onCopying: (delta) => void bytesMoving(delta),
  };
}

function report(target: ForwardTarget, json: boolean): void {
  const forwarder = target.events;
  const write = (text: string): void => void process.stdout.write(`${text}\n`);
  const emit = (e: ForwardStreamEvent): void => write(JSON.stringify(e));
  const opened = new Set<number>();
  forwarder.on('forward', (e) => {
    if (json) return emit(e);
    if (e.notify === 'silent') return;
    write(forwardLine(e, target.name));
    const once = e.notify === 'openBrowserOnce';
    if ((e.notify === 'openBrowser' || once) && !(once && opened.has(e.remote.port)) && !e.waiting) {
      opened.add(e.remote.port);
      if (!openBrowser(e.url)) write(`portwatch: open ${e.url} (no browser opener here: xdg-open, open or start)`);
    }
  });
  forwarder.on('unforward', (e) => (json ? emit(e) : e.reason === 'stopped' ? undefined : write(unforwardLine(e, target.name))));
  forwarder.on('error', (e) => (json ? emit(e) : process.stderr.write(`${errorLine(e)}\n`)));
}

export function registerForward(program: Command): void {
  const cmd = program
    .command('forward')
    .argument('[url]', 'a `portwatch serve` in the target, e.g. http://127.0.0.1:4040 (any OS; no root needed here)')
    .description("forward every TCP port the target listens on to this host's loopback, on the same port number");
  addRulesOptions(addFilterOptions(cmd))
    .option('--netns-pid <pid>', 'the network namespace of process PID (direct mode: Linux, root)')
    .option('--container <name>', 'a Docker or Podman container by name or id (direct mode; DOCKER_HOST honoured)')
    .option('--serve [address]', `also serve the page and API over the target's ports, with /api/forwards (default ${DEFAULT_LISTEN})`)
    .option('--token <token>', 'with URL: the token serve was started with; with --serve: require it, as serve does')
    .option('--token-file <file>', 'like --token, read from FILE (or set PORTWATCH_TOKEN)')
    .option('--map <pairs>', 'TARGET:HOST port pairs, e.g. 5173:15173 (that host port exactly, or an error)')
    .option('--bind <address>', 'host address(es) to listen on, comma-separated (default: 127.0.0.1, and ::1 for IPv6 targets)')
    .option('--allow-non-loopback', 'allow --bind on an address other machines can reach')
    .option('--grace <duration>', 'how long connections in flight may go on after their port closed in the target', '30s')
    .option('--json', 'print NDJSON events: forward, unforward, error')
    .option('--source <name>', 'how to read sockets (direct mode)', 'auto')
    .option('--trigger <name>', 'when to look (direct mode): auto, tracefs, poll', 'auto')
    .option('--interval <duration>', 'scan every DURATION (direct mode); default: adaptive')
    .option('--log-level <level>', 'diagnostics on stderr', 'warn')
    .action(async (url: string | undefined, opts: ForwardCliOptions) => {
      const serving = serveChoice(url, opts);
      checkTargetChoice(url, opts, serving !== null);
      const rules = toRules(opts);
      const options = forwarderOptions(opts, rules);
      const served = serving === null ? null : await startServing(serving, opts, rules);
      let target: ForwardTarget;
      try {
        target = await startTarget(url, opts, options, served === null ? {} : { watcher: served.watcher });
      } catch (e) {
        await served?.close();
        throw e;
      }
      served?.registry.follow(target.events);
      report(target, opts.json ?? false);
      if (served !== null) process.stderr.write(servingLine(served.url, served.token));
      if (!opts.json) process.stderr.write(`portwatch: forwarding the TCP ports of ${target.name}; Ctrl-C to stop\n`);
      const why = await new Promise<string>((resolve) => {
        const stop = (): void => resolve('stopped');
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        onOutputGone(stop);
        void target.ended.then(resolve);
      });
      await target.close();
      await served?.close();
      if (why !== 'stopped') throw new PortwatchError('ESCAN', `${target.name} is gone: ${why}`);
    });
}

/** --serve [ADDR]: where and with which token, by serve's own rules; null without --serve. */
function serveChoice(url: string | undefined, opts: ForwardCliOptions): ReturnType<typeof serveAccess> | null {
  if (opts.serve === undefined) return null;
  if (url !== undefined || (typeof opts.serve === 'string' && opts.serve.includes('://')))
    throw new PortwatchError(
      'EUSAGE',
      '--serve goes with --netns-pid or --container: through a portwatch serve (URL), that serve already has the page and the API',
    );
  return serveAccess(opts.serve === true ? DEFAULT_LISTEN : opts.serve, '--serve', opts);
}

interface Served {
  url: string;
  token: string | null;
  watcher: TargetWatcher;
  registry: ForwardRegistry;
  close(): Promise<void>;
}

/**
 * serve in this process over the target's listeners: the relay of the forwarding's own
 * watcher(s) and the forwards' registry. It listens before the target starts, so that a
 * taken address is said before anything is forwarded and no first scan is missed.
 */
async function startServing(access: ReturnType<typeof serveAccess>, opts: ForwardCliOptions, rules: Rules): Promise<Served> {
  const watcher = new TargetWatcher();
  const registry = new ForwardRegistry();
  const filter = toFilter(opts);
  // Loaded on use, as serve does: the HTTP server and prom-client cost every other start.
  const { createServeServer } = await import('../serve/server.js');
  const server = createServeServer(
    {
      host: access.listen.host,
      port: access.listen.port,
      token: access.token,
      // The target's own namespace: serve's proxy could not reach it; the forwards are the way in.
      proxy: false,
      filter: (l) => filter(l) && rules.filter(l),
      label: rules.label,
      announce: rules.announce,
      logger: createLogger(opts.logLevel),
    },
    { watcher, forwards: registry },
  );
  const address = await server.listen();
  return {
    url: address.url,
    token: access.token,
    watcher,
    registry,
    close: async () => {
      registry.close();
      await server.close();
    },
  };
}
