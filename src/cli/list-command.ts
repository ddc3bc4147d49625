import type { Command } from 'commander';
import { detectContainer, netnsOf } from '../namespaces.js';
import { scan } from '../scan.js';
import {
  addFilterOptions,
  addTargetOptions,
  toFilter,
  toScanOptions,
  type RawFilterOptions,
  type RawTargetOptions,
} from './common-options.js';
import { formatTable, styleFor } from './format.js';
import { createLogger } from './logger.js';

interface ListOptions extends RawTargetOptions, RawFilterOptions {
  json?: boolean;
  verbose?: boolean;
}

export function registerList(program: Command): void {
  const cmd = program.command('list').alias('ls').description('print the listening TCP and UDP ports now');
  addFilterOptions(addTargetOptions(cmd))
    .option('--json', 'print a JSON array of Listener objects')
    .option('-v, --verbose', 'also say which source was used, how long the scan took, and whether this is a container')
    .action(async (opts: ListOptions) => {
      createLogger(opts.logLevel);
      const scanOptions = toScanOptions(opts);
      const filter = toFilter(opts);
      const result = await scan(scanOptions);
      const listeners = result.listeners.filter(filter);
      if (opts.json) process.stdout.write(`${JSON.stringify(listeners, null, 2)}\n`);
      else process.stdout.write(`${formatTable(listeners, styleFor(process.stdout))}\n`);
      if (opts.verbose) {
        const c = detectContainer();
        const where = c.inContainer ? `in a container (${c.evidence})` : 'not in a container';
        const ns = scanOptions.netnsPid === undefined ? '' : ` of pid ${scanOptions.netnsPid}`;
        process.stderr.write(
          `portwatch: ${listeners.length} listener(s) via ${result.source} in ${result.durationMs.toFixed(2)} ms; network namespace${ns} ${netnsOf(scanOptions.netnsPid) ?? 'unknown'}; ${where}\n`,
        );
      }
    });
}
