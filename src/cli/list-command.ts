import type { Command } from 'commander';
import { PortwatchError } from '../errors.js';
import type { Listener } from '../listener.js';
import { detectContainer, netnsOf } from '../namespaces.js';
import type { Rules } from '../rules/index.js';
import { scan, type ScanResult } from '../scan.js';
import { describeTrigger } from '../triggers/select.js';
import type { TriggerChoice } from '../triggers/trigger.js';
import { scanHost, type HostListResult } from '../engine/host-scan.js';
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
import { formatTable, jsonListener, styleFor, parseColorChoice } from './format.js';
import { createLogger } from './logger.js';
import { rowFields } from './table/columns.js';
import { groupRows } from './table/group-rows.js';
import { privilegesHint } from './table/privileges-hint.js';
import { quietLines } from './table/quiet.js';
import { parseTemplate, renderTemplate, type Template } from './table/template.js';
import { userNames } from './table/users.js';

interface ListOptions extends RawTargetOptions, RawFilterOptions, RawRulesOptions, RawDisplayOptions, RawHostOptions {
  color?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  addresses?: boolean;
  format?: string;
}

/** What --json, -q and --format ask for, checked together before the scan (the table when none is given). */
function outputMode(opts: ListOptions): { kind: 'json' | 'quiet' | 'table' } | { kind: 'template'; template: Template } {
  const chosen = [opts.json && '--json', opts.quiet && '-q', opts.format !== undefined && '--format'].filter(Boolean);
  if (chosen.length > 1) throw new PortwatchError('EUSAGE', `${chosen.join(' and ')} cannot be combined: each is a whole output format`);
  if (opts.addresses && !opts.quiet) throw new PortwatchError('EUSAGE', '--addresses needs -q (it prints addr:port instead of the port)');
  if (opts.json) return { kind: 'json' };
  if (opts.quiet) return { kind: 'quiet' };
  if (opts.format === undefined) return { kind: 'table' };
  const parsed = parseTemplate(opts.format);
  if (!parsed.ok) throw new PortwatchError('EUSAGE', `invalid --format: ${parsed.error}`);
  if (parsed.template.table && parsed.template.parts.length === 0) return { kind: 'table' }; // `--format table`
  return { kind: 'template', template: parsed.template };
}

function print(listeners: Listener[], rules: Rules, opts: ListOptions, mode: ReturnType<typeof outputMode>, allNamespaces: boolean): void {
  const out = (lines: string[]): void => void process.stdout.write(lines.map((l) => `${l}\n`).join(''));
  if (mode.kind === 'json') {
    const json = listeners.map((l) => jsonListener(l, rules));
    out([JSON.stringify(json, null, 2)]);
    return;
  }
  if (mode.kind === 'quiet') {
    out(quietLines(listeners, opts.addresses ?? false));
    return;
  }
  const userName = userNames();
  if (mode.kind === 'template') {
    const rows = groupRows(listeners, { group: opts.group ?? true, labelOf: rules.label }).map((r) => rowFields(r, userName));
    out(renderTemplate(mode.template, rows));
  } else {
    const style = styleFor(process.stdout, process.env, parseColorChoice(opts.color));
    if (opts.trunc === false) style.width = undefined;
    out([formatTable(listeners, style, rules.label, { group: opts.group ?? true, userName, netns: allNamespaces })]);
  }
  const hint = privilegesHint(listeners, process.geteuid?.());
  if (hint !== null) process.stderr.write(`${hint}\n`);
}

function describeScan(
  result: ScanResult,
  listeners: Listener[],
  hidden: number,
  rules: Rules,
  netnsPid: number | undefined,
  trigger: TriggerChoice | undefined,
): void {
  const c = detectContainer();
  const where = c.inContainer ? `in a container (${c.evidence})` : 'not in a container';
  const ns = netnsPid === undefined ? '' : ` of pid ${netnsPid}`;
  const t = describeTrigger(trigger);
  const thread = t.name === 'poll' && result.source === 'sockdiag' ? ', looking from a thread of the addon' : '';
  const why = t.fallback === null ? thread : `${thread} (not tracefs: ${t.fallback})`;
  process.stderr.write(
    `portwatch: ${listeners.length} listener(s) via ${result.source} in ${result.durationMs.toFixed(2)} ms; network namespace${ns} ${netnsOf(netnsPid) ?? 'unknown'}; ${where}; watch would use trigger ${t.name}${why}\n`,
  );
  process.stderr.write(`portwatch: rules: ${rules.describe()}; ${hidden} listener(s) hidden\n`);
}

function describeHostScan(
  result: HostListResult,
  listeners: Listener[],
  hidden: number,
  rules: Rules,
  trigger: TriggerChoice | undefined,
): void {
  const t = describeTrigger(trigger);
  const why = t.fallback === null ? '' : ` (not tracefs: ${t.fallback})`;
  const inContainers = result.namespaces.filter((n) => n.container !== null).length;
  process.stderr.write(
    `portwatch: ${listeners.length} listener(s) in ${result.namespaces.length} network namespace(s), ${inContainers} of them a container's, via ${result.source} in ${result.durationMs.toFixed(2)} ms; watch would use trigger ${t.name}${why}\n`,
  );
  for (const line of result.missing) process.stderr.write(`portwatch: not seen: ${line}\n`);
  process.stderr.write(`portwatch: rules: ${rules.describe()}; ${hidden} listener(s) hidden\n`);
}

export function registerList(program: Command): void {
  const cmd = program
    .command('list')
    .alias('ls')
    .description('print the listening TCP and UDP ports now')
    .argument(...PORTS_ARGUMENT);
  addDisplayOptions(addRulesOptions(addFilterOptions(addHostOptions(addTargetOptions(cmd)), { portArguments: true })))
    .option('--color <when>', 'colours: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces them), always, never')
    .option('--json', 'print a JSON array of Listener objects, one per socket (with "label" when a config file is in use)')
    .option('-q, --quiet', 'print only the port numbers, one per line, each once, sorted (for scripts)')
    .option('--addresses', 'with -q: print addr:port (127.0.0.1:8080, [::1]:8080) instead of the port')
    .option(
      '--format <template>',
      "one line per row from a Go-like template, as docker ps --format: '{{.Port}} {{.Process}}'; 'table …' adds a header and aligns cells at \\t. " +
        'Fields: .Port .Protocol .Proto .Address .Endpoint .Pid .User .Process .Command .Label .Netns .Container',
    )
    .option('-v, --verbose', 'also say which source was used, how long the scan took, and whether this is a container')
    .action(async (ports: string[], opts: ListOptions) => {
      createLogger(opts.logLevel);
      const scanOptions = toScanOptions(opts);
      const host = toHostMode(opts);
      parseColorChoice(opts.color); // a bad value is a usage error before the scan
      const inContainer = toContainerFilter(host.container);
      const portFilter = toFilter({ ...opts, port: portArguments(ports, opts.port) });
      const filter = (l: Listener): boolean => portFilter(l) && inContainer(l);
      const mode = outputMode(opts);
      const rules = toRules(opts);
      if (host.all) {
        const result = await scanHost({ source: scanOptions.source as 'auto' | 'sockdiag' | 'procfs' });
        const listeners = result.listeners.filter((l) => filter(l) && rules.filter(l));
        print(listeners, rules, opts, mode, true);
        if (opts.verbose) {
          const hidden = result.listeners.filter((l) => filter(l) && !rules.filter(l)).length;
          describeHostScan(result, listeners, hidden, rules, scanOptions.trigger);
        }
        return;
      }
      const result = await scan(scanOptions);
      const listeners = result.listeners.filter((l) => filter(l) && rules.filter(l));
      print(listeners, rules, opts, mode, false);
      if (opts.verbose) {
        const hidden = result.listeners.filter((l) => filter(l) && !rules.filter(l)).length;
        describeScan(result, listeners, hidden, rules, scanOptions.netnsPid, scanOptions.trigger);
      }
    });
}
