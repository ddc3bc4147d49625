import type { Command } from 'commander';
import { detectContainer, netnsOf } from '../namespaces.js';
import { scan } from '../scan.js';
import { describeTrigger } from '../triggers/select.js';
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
import { formatTable, jsonListener, styleFor, parseColorChoice } from './format.js';
import { createLogger } from './logger.js';

interface ListOptions extends RawTargetOptions, RawFilterOptions, RawRulesOptions {
  color?: string;
  json?: boolean;
  verbose?: boolean;
}

export function registerList(program: Command): void {
  const cmd = program.command('list').alias('ls').description('print the listening TCP and UDP ports now');
  addRulesOptions(addFilterOptions(addTargetOptions(cmd)))
    .option('--color <when>', 'colours: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces them), always, never')
    .option('--json', 'print a JSON array of Listener objects (with "label" when a config file is in use)')
    .option('-v, --verbose', 'also say which source was used, how long the scan took, and whether this is a container')
    .action(async (opts: ListOptions) => {
      createLogger(opts.logLevel);
      const scanOptions = toScanOptions(opts);
      const color = parseColorChoice(opts.color);
      const filter = toFilter(opts);
      const rules = toRules(opts);
      const result = await scan(scanOptions);
      const listeners = result.listeners.filter((l) => filter(l) && rules.filter(l));
      if (opts.json)
        process.stdout.write(
          `${JSON.stringify(
            listeners.map((l) => jsonListener(l, rules)),
            null,
            2,
          )}\n`,
        );
      else process.stdout.write(`${formatTable(listeners, styleFor(process.stdout, process.env, color), rules.label)}\n`);
      if (opts.verbose) {
        const c = detectContainer();
        const where = c.inContainer ? `in a container (${c.evidence})` : 'not in a container';
        const ns = scanOptions.netnsPid === undefined ? '' : ` of pid ${scanOptions.netnsPid}`;
        const trigger = describeTrigger(scanOptions.trigger);
        const why = trigger.fallback === null ? '' : ` (not tracefs: ${trigger.fallback})`;
        process.stderr.write(
          `portwatch: ${listeners.length} listener(s) via ${result.source} in ${result.durationMs.toFixed(2)} ms; network namespace${ns} ${netnsOf(scanOptions.netnsPid) ?? 'unknown'}; ${where}; watch would use trigger ${trigger.name}${why}\n`,
        );
        const hidden = result.listeners.filter((l) => filter(l) && !rules.filter(l)).length;
        process.stderr.write(`portwatch: rules: ${rules.describe()}; ${hidden} listener(s) hidden\n`);
      }
    });
}
