/**
 * Options shared by list, watch and wait: where to look (--netns-pid, --source; list and
 * watch also -A/--all-namespaces and --container), what to show (--tcp, --udp, --port or ports as arguments, --pid, --process), which rules apply
 * (--config, --no-config, --all), how tables look (--no-group, --no-trunc), and how to log
 * (--log-level).
 */
import type { Command } from 'commander';
import type { Listener } from '../listener.js';
import { PortwatchError } from '../errors.js';
import { processExists } from '../namespaces.js';
import { loadRules, type RuleBehaviour, type Rules } from '../rules/index.js';
import { containerMatches } from '../engine/container-identity.js';
import { SOURCE_CHOICES, type ScanOptions, type SourceChoice } from '../scan.js';
import { TRIGGER_CHOICES, type TriggerChoice } from '../triggers/trigger.js';
import { parsePid, parsePortSpec, parseRegex, portInRanges } from './parse-args.js';

export interface RawTargetOptions {
  netnsPid?: string;
  source: string;
  trigger?: string;
  logLevel: string;
}

export interface RawFilterOptions {
  tcp?: boolean;
  udp?: boolean;
  port?: string;
  pid?: string;
  process?: string;
}

export interface RawRulesOptions {
  /** A path, false for --no-config, undefined to look for portwatch.json. */
  config?: string | false;
  all?: boolean;
}

export function addRulesOptions(
  cmd: Command,
  allHelp = "ignore nothing: include what the rules, PORTWATCH_IGNORE and portwatch's own listeners would hide",
): Command {
  cmd
    .option(
      '--config <file>',
      'ignore/silent/label rules from FILE (default: portwatch.json or .devcontainer/devcontainer.json here or above)',
    )
    .option('--no-config', 'use no config file');
  return cmd.option('--all', allHelp);
}

/**
 * The rules in effect for a command. Throws PortwatchError('EUSAGE', '<file>: <reason>') for a
 * bad file. Well-known servers and ports get a default label (rules/default-labels.ts) unless
 * the config names them: also with --no-config and --all, which are about files and ignoring.
 */
export function toRules(raw: RawRulesOptions, behaviour: RuleBehaviour = {}): Rules {
  return loadRules({
    defaultLabels: true,
    ...behaviour,
    ...(typeof raw.config === 'string' ? { configPath: raw.config } : {}),
    discover: raw.config !== false,
    all: raw.all ?? behaviour.all ?? false,
  });
}

export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option('--netns-pid <pid>', 'read the network namespace of process PID (e.g. a container) from /proc/PID/net')
    .option('--source <name>', `how to read sockets: ${SOURCE_CHOICES.join(', ')}`, 'auto')
    .option('--trigger <name>', 'when to look: auto (kernel events through tracefs as root, else polling), tracefs, poll', 'auto')
    .option('--log-level <level>', 'diagnostics on stderr: fatal, error, warn, info, debug, trace, silent', 'warn');
}

/** `portArguments`: the command also takes ports as arguments (list, watch), which --port's help then says. */
export function addFilterOptions(cmd: Command, { portArguments = false }: { portArguments?: boolean } = {}): Command {
  const also = portArguments ? ' (or give them as arguments: 8080 :3000-3010)' : '';
  return cmd
    .option('--tcp', 'only TCP listeners')
    .option('--udp', 'only UDP listeners')
    .option('--port <spec>', `only these ports, e.g. 80,443,3000-3010${also}`)
    .option('--pid <pid>', 'only listeners owned by this process')
    .option('--process <regex>', 'only listeners whose process name or command matches');
}

export function toScanOptions(raw: RawTargetOptions): ScanOptions & { trigger?: TriggerChoice } {
  if (!(SOURCE_CHOICES as readonly string[]).includes(raw.source)) {
    throw new PortwatchError('EUSAGE', `unknown source '${raw.source}': use one of ${SOURCE_CHOICES.join(', ')}`);
  }
  if (raw.trigger !== undefined && !(TRIGGER_CHOICES as readonly string[]).includes(raw.trigger)) {
    throw new PortwatchError('EUSAGE', `unknown trigger '${raw.trigger}': use one of ${TRIGGER_CHOICES.join(', ')}`);
  }
  const options: ScanOptions & { trigger?: TriggerChoice } = { source: raw.source as SourceChoice };
  if (raw.trigger !== undefined) options.trigger = raw.trigger as TriggerChoice;
  if (raw.netnsPid !== undefined) {
    const pid = parsePid(raw.netnsPid);
    if (!processExists(pid)) throw new PortwatchError('EUSAGE', `--netns-pid ${pid}: no such process`);
    options.netnsPid = pid;
  }
  return options;
}

export function toFilter(raw: RawFilterOptions): (l: Listener) => boolean {
  const protocols = raw.tcp && !raw.udp ? ['tcp'] : raw.udp && !raw.tcp ? ['udp'] : ['tcp', 'udp'];
  const ranges = raw.port === undefined ? null : parsePortSpec(raw.port);
  const pid = raw.pid === undefined ? null : parsePid(raw.pid);
  if (pid !== null && !processExists(pid)) throw new PortwatchError('EUSAGE', `--pid ${pid}: no such process`);
  const re = raw.process === undefined ? null : parseRegex(raw.process);
  return (l) =>
    protocols.includes(l.protocol) &&
    (ranges === null || portInRanges(l.port, ranges)) &&
    (pid === null || l.process?.pid === pid) &&
    (re === null || (l.process !== null && (re.test(l.process.name) || re.test(l.process.command))));
}

/** The `[ports...]` argument of list and watch: `8080`, `:8080,3000-3010`, several words. */
export const PORTS_ARGUMENT = ['[ports...]', 'only these ports, as --port takes them; a leading colon is allowed (:8080)'] as const;

/**
 * Ports given as arguments, as a --port spec: `8080 :3000-3010` → `8080,3000-3010`.
 * Undefined when none are given (then --port, if any, applies). Both at once is a usage
 * error: whether they would narrow or widen each other is a guess either way.
 */
export function portArguments(args: readonly string[], option: string | undefined): string | undefined {
  if (args.length === 0) return option;
  const spec = args
    .map((a) =>
      a
        .split(',')
        .map((p) => p.trim().replace(/^:/, ''))
        .join(','),
    )
    .join(',');
  if (option !== undefined)
    throw new PortwatchError(
      'EUSAGE',
      `ports given twice: as arguments (${args.join(' ')}) and with --port ${option}; use one or the other`,
    );
  parsePortSpec(spec); // the error names the bad port
  return spec;
}

export interface RawDisplayOptions {
  /** false for --no-group. */
  group?: boolean;
  /** false for --no-trunc. */
  trunc?: boolean;
}

/** How tables look: --no-group (one row per socket), --no-trunc (whole lines on a terminal). */
export function addDisplayOptions(cmd: Command): Command {
  return cmd
    .option('--no-group', 'one row per socket: do not join the addresses one process listens on for a port into one row')
    .option('--no-trunc', 'print whole lines on a terminal: do not cut them (and the command) at its width');
}

export interface RawHostOptions {
  /** -A / --all-namespaces */
  allNamespaces?: boolean;
  container?: string;
}

/** -A and --container (list, watch): every network namespace on the host. */
export function addHostOptions(cmd: Command): Command {
  return cmd
    .option(
      '-A, --all-namespaces',
      'every network namespace on the host (containers, `ip netns`), each listener with its netns and container',
    )
    .option('--container <name>', 'only listeners in this container (its name, id, or an id prefix of 4+ hex digits); implies -A');
}

/**
 * Host mode as asked: whether to read every namespace, and the container to keep (or null).
 * Throws PortwatchError('EUSAGE') for what cannot go together with it.
 */
export function toHostMode(raw: RawHostOptions & RawTargetOptions): { all: boolean; container: string | null } {
  const container = raw.container ?? null;
  const all = raw.allNamespaces === true || container !== null;
  if (!all) return { all, container };
  const what = raw.allNamespaces === true ? '-A/--all-namespaces' : '--container';
  if (container !== null && container.trim() === '') throw new PortwatchError('EUSAGE', '--container needs a name or an id');
  if (raw.netnsPid !== undefined) {
    throw new PortwatchError('EUSAGE', `${what} and --netns-pid cannot be combined: one reads every namespace, the other one`);
  }
  if (raw.source === 'ss') throw new PortwatchError('EUSAGE', `${what} reads namespaces with sockdiag or procfs, not ss`);
  return { all, container };
}

/** Keeps the listeners of one container (`--container`), or all. */
export function toContainerFilter(container: string | null): (l: Listener) => boolean {
  return container === null ? () => true : (l) => containerMatches(l.container, container);
}
