/**
 * `portwatch serve`: the live page, the HTTP API, the reverse proxy to the listening ports
 * and Prometheus metrics, in one process (src/serve/). Prints the URL it serves on stderr.
 */
import type { Command } from 'commander';
import { PortwatchError } from '../errors.js';
import { parseByteSize } from '../serve/byte-size.js';
import { DEFAULT_EVENTS_FILE_MAX_BYTES } from '../serve/events-file.js';
import { parseListenAddress, type ListenAddress } from '../serve/listen-address.js';
import type { Listener } from '../listener.js';
import {
  addFilterOptions,
  addHostOptions,
  toContainerFilter,
  toHostMode,
  type RawHostOptions,
  addRulesOptions,
  addTargetOptions,
  toFilter,
  toRules,
  toScanOptions,
  type RawFilterOptions,
  type RawRulesOptions,
  type RawTargetOptions,
} from './common-options.js';
import { bytesMoving } from './heap-flags.js';
import { createLogger } from './logger.js';
import { parseDuration } from './parse-args.js';
import { resolveToken } from './token.js';

const collect = (value: string, previous: string[]): string[] => [...previous, ...value.split(',')];

/** Where serve listens unless told: `serve --listen`, and `forward --serve` without an address. */
export const DEFAULT_LISTEN = '127.0.0.1:4040';

/**
 * Where to serve and with which token, by serve's rules for `serve --listen` and `forward
 * --serve` alike: the address as --listen takes it, the token from --token, --token-file or
 * PORTWATCH_TOKEN. An address other machines can reach without a token is refused by the
 * server itself (checkExposure), on the address it binds.
 */
export function serveAccess(
  listenText: string,
  flag: string,
  opts: { token?: string; tokenFile?: string },
): { listen: ListenAddress; token: string | null } {
  let listen: ListenAddress;
  try {
    listen = parseListenAddress(listenText);
  } catch (e) {
    if (e instanceof PortwatchError && flag !== '--listen') throw new PortwatchError(e.code, e.message.replace('--listen', flag));
    throw e;
  }
  return { listen, token: resolveToken(opts) };
}

/** The line serve prints once it listens. */
export function servingLine(url: string, token: string | null): string {
  return `portwatch: serving ${url}${token === null ? '' : ' (token required: open /?token=… once)'}\n`;
}

interface ServeCliOptions extends RawTargetOptions, RawFilterOptions, RawRulesOptions, RawHostOptions {
  listen: string;
  token?: string;
  tokenFile?: string;
  allowHost: string[];
  eventsFile?: string;
  eventsFileMaxBytes?: string;
  history: string;
  interval?: string;
  probe: boolean;
  proxy: boolean;
  maxBodyBytes: string;
}

function parseHistory(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > 1_000_000)
    throw new PortwatchError('EUSAGE', `invalid --history '${text}': use a number from 1 to 1000000`);
  return n;
}

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve a live page of the listening ports, an HTTP API, a proxy to them (p<PORT>.localhost) and Prometheus metrics');
  addHostOptions(addRulesOptions(addFilterOptions(addTargetOptions(cmd))))
    .option('--listen <address>', 'where to listen: HOST:PORT, [IPv6]:PORT or PORT (0 = any free port)', DEFAULT_LISTEN)
    .option('--token <token>', 'require this token on every request (Authorization: Bearer, or the cookie set by opening /?token=…)')
    .option('--token-file <file>', 'read the token from FILE (or set PORTWATCH_TOKEN)')
    .option('--allow-host <name>', 'also answer to this Host name and p<PORT>.<name> (repeatable, comma-separated)', collect, [])
    .option('--events-file <file>', 'append every event to FILE as NDJSON')
    .option('--events-file-max-bytes <size>', 'rotate the events file to FILE.1 at this size (e.g. 10MiB)')
    .option('--history <n>', 'recent events kept for resuming event streams (Last-Event-ID, ?since=)', '1000')
    .option('--interval <duration>', 'scan every DURATION (e.g. 250ms, 2s); default: adaptive')
    .option('--max-body-bytes <size>', 'largest request body the proxy forwards', '32MiB')
    .option('--no-probe', 'do not probe new TCP listeners to tell HTTP and HTTPS')
    .option('--no-proxy', 'turn off the proxy (p<PORT>.localhost and /proxy/<PORT>/)')
    .action(async (opts: ServeCliOptions) => {
      const log = createLogger(opts.logLevel);
      const host = toHostMode(opts);
      const scanOptions = toScanOptions(opts);
      const inContainer = toContainerFilter(host.container);
      const portFilter = toFilter(opts);
      const filter = (l: Listener): boolean => portFilter(l) && inContainer(l);
      const rules = toRules(opts);
      const { listen, token } = serveAccess(opts.listen, '--listen', opts);
      const interval = opts.interval === undefined ? undefined : parseDuration(opts.interval, 'interval');
      if (interval !== undefined && interval < 10)
        throw new PortwatchError('EUSAGE', `interval ${opts.interval} is too short: use at least 10ms`);
      if (opts.eventsFileMaxBytes !== undefined && opts.eventsFile === undefined) {
        throw new PortwatchError('EUSAGE', '--events-file-max-bytes needs --events-file');
      }
      // Loaded on use: the HTTP server and prom-client cost every other command startup time and memory.
      const { createServeServer } = await import('../serve/server.js');
      const server = createServeServer({
        host: listen.host,
        port: listen.port,
        token,
        allowHosts: opts.allowHost,
        watchOptions: { ...scanOptions, ...(interval !== undefined ? { interval } : {}) },
        allNamespaces: host.all,
        // The same rules as list and watch: ignored listeners are not shown, silent ones not announced.
        filter: (l) => filter(l) && rules.filter(l),
        label: rules.label,
        announce: rules.announce,
        eventsFile: opts.eventsFile ?? null,
        eventsFileMaxBytes:
          opts.eventsFileMaxBytes === undefined
            ? DEFAULT_EVENTS_FILE_MAX_BYTES
            : parseByteSize(opts.eventsFileMaxBytes, '--events-file-max-bytes'),
        history: parseHistory(opts.history),
        probe: opts.probe,
        proxy: opts.proxy,
        maxBodyBytes: parseByteSize(opts.maxBodyBytes, '--max-body-bytes'),
        logger: log,
        // Room for the heap while a tunnel is open, compact again once none is (heap-flags.ts).
        onTunnels: (delta) => {
          const switched = bytesMoving(delta);
          if (switched !== null) log.debug(`heap: ${switched === 'moving-bytes' ? 'moving bytes' : 'watching'}`);
        },
      });
      const address = await server.listen();
      process.stderr.write(servingLine(address.url, token));
      let stopping = false;
      void server.ready().then(() => {
        if (!stopping)
          process.stderr.write(
            `portwatch: watching ${server.listeners().length} listener(s) via ${server.watcher.source}; Ctrl-C to stop\n`,
          );
      });
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          stopping = true;
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
