/**
 * `portwatch serve`: the live page, the HTTP API, the reverse proxy to the listening ports
 * and Prometheus metrics, in one process (src/serve/). Prints the URL it serves on stderr.
 */
import type { Command } from 'commander';
import { PortwatchError } from '../errors.js';
import { readAtMost, type AtMost } from '../owners/read-bounded.js';
import { parseByteSize } from '../serve/byte-size.js';
import { DEFAULT_EVENTS_FILE_MAX_BYTES } from '../serve/events-file.js';
import { parseListenAddress } from '../serve/listen-address.js';
import {
  addFilterOptions,
  addRulesOptions,
  addTargetOptions,
  toFilter,
  toRules,
  toScanOptions,
  type RawFilterOptions,
  type RawRulesOptions,
  type RawTargetOptions,
} from './common-options.js';
import { createLogger } from './logger.js';
import { parseDuration } from './parse-args.js';

interface ServeCliOptions extends RawTargetOptions, RawFilterOptions, RawRulesOptions {
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

/** A token is a line; 64 KiB is far more than any secret manager hands out. */
export const TOKEN_FILE_MAX_BYTES = 64 * 1024;

const collect = (value: string, previous: string[]): string[] => [...previous, ...value.split(',')];

function checkToken(token: string, from: string): string {
  if (token === '') throw new PortwatchError('EUSAGE', `the token from ${from} is empty`);
  if (/[\s\p{Cc}]/u.test(token)) throw new PortwatchError('EUSAGE', `the token from ${from} must not contain spaces or control characters`);
  return token;
}

/** --token, --token-file (one of them), else the PORTWATCH_TOKEN environment variable, else none. */
export function resolveToken(opts: { token?: string; tokenFile?: string }, env: NodeJS.ProcessEnv = process.env): string | null {
  if (opts.token !== undefined && opts.tokenFile !== undefined)
    throw new PortwatchError('EUSAGE', '--token and --token-file cannot be used together');
  if (opts.token !== undefined) return checkToken(opts.token, '--token');
  if (opts.tokenFile !== undefined) {
    let read: AtMost;
    try {
      // Bounded by the read itself: /dev/zero or a FIFO would otherwise be read until memory runs out.
      read = readAtMost(opts.tokenFile, TOKEN_FILE_MAX_BYTES);
    } catch (e) {
      throw new PortwatchError(
        'EUSAGE',
        `cannot read --token-file '${opts.tokenFile}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    if (read.more)
      throw new PortwatchError(
        'EUSAGE',
        `--token-file '${opts.tokenFile}' is larger than ${TOKEN_FILE_MAX_BYTES / 1024} KiB: it should hold only the token`,
      );
    const text = read.bytes.toString('utf8');
    return checkToken(text.replace(/\r?\n$/, ''), `--token-file '${opts.tokenFile}'`);
  }
  const fromEnv = env.PORTWATCH_TOKEN;
  return fromEnv === undefined || fromEnv === '' ? null : checkToken(fromEnv, 'PORTWATCH_TOKEN');
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
  addRulesOptions(addFilterOptions(addTargetOptions(cmd)))
    .option('--listen <address>', 'where to listen: HOST:PORT, [IPv6]:PORT or PORT (0 = any free port)', '127.0.0.1:4040')
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
      const scanOptions = toScanOptions(opts);
      const filter = toFilter(opts);
      const rules = toRules(opts);
      const listen = parseListenAddress(opts.listen);
      const token = resolveToken(opts);
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
      });
      const address = await server.listen();
      process.stderr.write(`portwatch: serving ${address.url}${token === null ? '' : ' (token required: open /?token=… once)'}\n`);
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
