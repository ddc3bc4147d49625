/**
 * portwatch mcp: a Model Context Protocol server on stdio (for coding agents). stdout
 * carries the protocol only; diagnostics go to stderr. Ends when stdin closes, when
 * stdout can no longer be written, or on SIGINT/SIGTERM, with exit 0.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PortwatchError } from '../errors.js';
import {
  addHostOptions,
  addRulesOptions,
  addTargetOptions,
  toHostMode,
  toRules,
  toScanOptions,
  type RawHostOptions,
  type RawRulesOptions,
  type RawTargetOptions,
} from './common-options.js';
import { createLogger } from './logger.js';
import { parseDuration } from './parse-args.js';

interface McpCliOptions extends RawTargetOptions, RawRulesOptions, RawHostOptions {
  interval?: string;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function registerMcp(program: Command): void {
  const cmd = program
    .command('mcp')
    .description(
      'serve the Model Context Protocol on stdio: list_listening_ports, wait_for_port, get_port_events, who_owns_port, stop_port (destructive); resource portwatch://listeners',
    );
  addHostOptions(addRulesOptions(addTargetOptions(cmd)))
    .option(
      '--interval <duration>',
      'scan every DURATION (events, resource updates, wait_for_port); default: adaptive, waits look every 100ms',
    )
    .action(async (opts: McpCliOptions) => {
      const log = createLogger(opts.logLevel);
      const scan = toScanOptions(opts);
      const host = toHostMode(opts);
      const rules = toRules(opts);
      const interval = opts.interval === undefined ? undefined : parseDuration(opts.interval, 'interval');
      if (interval !== undefined && host.all)
        throw new PortwatchError('EUSAGE', '--interval cannot be used with -A: every namespace is looked at within a CPU budget instead');
      // Loaded on use: the MCP SDK and zod cost every other command startup time and memory.
      const [{ createPortwatchMcpServer }, { BoundedStdioServerTransport }] = await Promise.all([
        import('../mcp/server.js'),
        import('../mcp/stdio-transport.js'),
      ]);
      const mcp = createPortwatchMcpServer({
        scan,
        ...(host.all ? { allNamespaces: true } : {}),
        ...(host.container !== null ? { container: host.container } : {}),
        rules,
        version: version(),
        ...(interval !== undefined ? { interval } : {}),
        onScanError: (err) => log.warn({ code: (err as PortwatchError).code }, `scan failed, retrying: ${err.message}`),
      });
      // Ends on whichever comes first: stdin closed, a signal, or the transport closed (stdout gone).
      let stop = (): void => {};
      const stopped = new Promise<void>((resolve) => {
        stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.stdin.off('end', stop);
          process.stdin.off('close', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        process.stdin.on('end', stop);
        process.stdin.on('close', stop);
      });
      // The SDK's stdio transport shuts for good on a line over 10 MiB (and the process then
      // ends with nothing said): this one drops such a line, answers an error and goes on.
      const transport = new BoundedStdioServerTransport();
      transport.onclose = () => stop();
      mcp.server.server.onerror = (err) => log.warn(`mcp: ${err.message}`);
      await mcp.server.connect(transport);
      log.info(`portwatch mcp ready${host.all ? ' (every network namespace)' : ''}; ${rules.describe()}`);
      await stopped;
      await mcp.server.close();
      await mcp.close();
      process.stdin.destroy();
    });
}
