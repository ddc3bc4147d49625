/**
 * Rules: one mechanism deciding, for every consumer (list, watch, run, serve, mcp, the
 * library), which listeners are ignored, which are listed but not announced (silent), and
 * what each is called (label).
 *
 * A listener is ignored when
 *   - it belongs to this very process (portwatch's own listeners, e.g. serve's port),
 *   - its process or an ancestor was started with PORTWATCH_IGNORE=1,
 *   - an `ignore` rule matches, or its portsAttributes say onAutoForward "ignore".
 * It is silent when a `silent` rule matches or onAutoForward is "silent".
 * Its label is the first matching `label` rule's, else its portsAttributes label, else (when
 * default labels are on) the well-known name of its server or port (default-labels.ts).
 */
import type { Listener, ProcessInfo } from '../listener.js';
import type { PortAttributes } from './attributes.js';
import type { ForwardPortEntry, RuleSet } from './config.js';
import { EMPTY_RULE_SET } from './config.js';
import { defaultLabel } from './default-labels.js';
import { IgnoreMarker, IGNORE_ENV } from './ignore-marker.js';
import { procReader, type ProcReader } from './proc.js';

export interface Rules {
  /** True for listeners to list and announce; false for ignored ones. */
  filter(listener: Listener): boolean;
  /** Why a listener is ignored (`PORTWATCH_IGNORE`, `own`, `ignore rule …`), or null when it is not. */
  whyIgnored(listener: Listener): string | null;
  /** False for silent listeners: listed, never announced. */
  announce(listener: Listener): boolean;
  /** The label the config gives a listener, or null. */
  label(listener: Listener): string | null;
  /** Its portsAttributes (or otherPortsAttributes), or null when none applies. */
  attributes(listener: Listener): PortAttributes | null;
  /** Ports to forward even before they listen (devcontainer forwardPorts). */
  readonly forwardPorts: readonly ForwardPortEntry[];
  /** One line saying where the rules come from and what they do. */
  describe(): string;
  /** The config file in use, or null when none. */
  readonly file: string | null;
}

export interface RuleBehaviour {
  /** Ignore processes marked with PORTWATCH_IGNORE and their descendants (default true). */
  ignoreMarked?: boolean;
  /** Ignore listeners of this process, `ownPid` (default true). */
  ignoreOwn?: boolean;
  /** Defaults to process.pid. */
  ownPid?: number;
  /** Apply no ignore rule at all (labels and silence still apply); default false. */
  all?: boolean;
  /**
   * Label well-known servers and ports (PostgreSQL, Vite, …) when no rule of the config
   * names them; default false (the CLI turns it on).
   */
  defaultLabels?: boolean;
  procReader?: ProcReader;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** Rules from a compiled rule set (pure apart from the /proc reads of the marker check). */
export function createRules(ruleSet: RuleSet = EMPTY_RULE_SET, file: string | null = null, behaviour: RuleBehaviour = {}): Rules {
  const all = behaviour.all ?? false;
  const ignoreMarked = !all && (behaviour.ignoreMarked ?? true);
  const ignoreOwn = !all && (behaviour.ignoreOwn ?? true);
  const ownPid = behaviour.ownPid ?? process.pid;
  const defaults = behaviour.defaultLabels ?? false;
  const marker = new IgnoreMarker(behaviour.procReader ?? procReader());
  // Keyed by the ProcessInfo object, which the scanner keeps for as long as the socket lives.
  const markedMemo = new WeakMap<ProcessInfo, boolean>();
  const isMarked = (p: ProcessInfo): boolean => {
    let marked = markedMemo.get(p);
    if (marked === undefined) {
      marked = marker.isIgnored(p.pid);
      markedMemo.set(p, marked);
    }
    return marked;
  };

  // The watcher asks about every listener on every scan: answers are kept per process and
  // socket address, for as long as the scanner keeps the ProcessInfo (the socket's life).
  const answers = new WeakMap<ProcessInfo, Map<string, string | null>>();
  const whyIgnored = (l: Listener): string | null => {
    if (all) return null;
    if (l.process === null) return decide(l);
    let known = answers.get(l.process);
    if (known === undefined) answers.set(l.process, (known = new Map()));
    const key = `${l.protocol}|${l.address}|${l.port}`;
    let answer = known.get(key);
    if (answer === undefined) known.set(key, (answer = decide(l)));
    return answer;
  };

  const decide = (l: Listener): string | null => {
    if (ignoreOwn && l.process?.pid === ownPid) return "portwatch's own listener";
    for (const m of ruleSet.ignore) if (m.test(l)) return `ignore rule: ${m.text}`;
    if (ruleSet.attributes?.lookup(l)?.onAutoForward === 'ignore') return 'portsAttributes: onAutoForward "ignore"';
    if (ignoreMarked && l.process !== null && isMarked(l.process)) return `${IGNORE_ENV} is set for the process or an ancestor`;
    return null;
  };

  const describe = (): string => {
    const parts: string[] = [];
    if (ruleSet.ignore.length > 0) parts.push(plural(ruleSet.ignore.length, 'ignore rule'));
    if (ruleSet.silent.length > 0) parts.push(plural(ruleSet.silent.length, 'silent rule'));
    if (ruleSet.labels.length > 0) parts.push(plural(ruleSet.labels.length, 'label rule'));
    if (ruleSet.forwardPorts.length > 0) parts.push(plural(ruleSet.forwardPorts.length, 'forwardPorts entry').replace('entrys', 'entries'));
    if (ruleSet.attributes) {
      parts.push(plural(ruleSet.attributes.size, 'portsAttributes entry').replace('entrys', 'entries'));
      if (ruleSet.attributes.hasOther) parts.push('otherPortsAttributes');
    }
    const from = file === null ? 'no config file' : `config ${file}${parts.length > 0 ? ` (${parts.join(', ')})` : ' (no rules)'}`;
    const implicit: string[] = [];
    if (all) implicit.push('nothing ignored (--all)');
    else {
      if (ignoreMarked) implicit.push(`${IGNORE_ENV} processes ignored`);
      if (ignoreOwn) implicit.push("portwatch's own listeners ignored");
    }
    return [from, ...implicit].join('; ');
  };

  return {
    file,
    forwardPorts: ruleSet.forwardPorts,
    attributes: (l) => ruleSet.attributes?.lookup(l) ?? null,
    whyIgnored,
    filter: (l) => whyIgnored(l) === null,
    announce: (l) => !ruleSet.silent.some((m) => m.test(l)) && ruleSet.attributes?.lookup(l)?.onAutoForward !== 'silent',
    label: (l) =>
      ruleSet.labels.find((r) => r.matcher.test(l))?.label ?? ruleSet.attributes?.lookup(l)?.label ?? (defaults ? defaultLabel(l) : null),
    describe,
  };
}
