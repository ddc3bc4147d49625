/**
 * The three ways `portwatch forward` reaches a target, behind one shape: a forwarder that
 * reports, a promise that settles when the target is gone, and close().
 */
import { PortwatchError } from '../errors.js';
import type { EventEmitter } from 'node:events';
import type { ForwarderEvents, ForwarderOptions } from '../forward/forwarder.js';
import { forwardNamespace } from '../forward/forward-namespace.js';
import type { TargetWatcher } from '../forward/target-watcher.js';
import { processExists } from '../namespaces.js';
import type { TriggerChoice } from '../triggers/trigger.js';
import type { TickEvent } from '../watch/watch-types.js';
import { SOURCE_CHOICES, type SourceChoice } from '../scan.js';
import { TRIGGER_CHOICES } from '../triggers/trigger.js';
import { forwardContainer } from './forward-container.js';
import { forwardThroughServe } from './forward-tunnel.js';
import { createLogger } from './logger.js';
import { parseDuration, parsePid } from './parse-args.js';

export interface RawTargetChoice {
  netnsPid?: string;
  container?: string;
  token?: string;
  tokenFile?: string;
  source: string;
  trigger: string;
  interval?: string;
  logLevel: string;
}

export interface ForwardTarget {
  /** How the target is named in lines: `pid 123`, `container web`, `http://host:4040`. */
  readonly name: string;
  /** The forward, unforward and error events of whatever forwarder serves the target now. */
  readonly events: EventEmitter<ForwarderEvents>;
  /** Settles with the reason when the target is gone for good. */
  readonly ended: Promise<string>;
  close(): Promise<void>;
}

export interface EngineChoice {
  source: SourceChoice;
  trigger: TriggerChoice;
  interval?: number;
  /** --log-level debug: every scan of the target. */
  onTick?: (tick: TickEvent) => void;
}

function engineChoice(raw: RawTargetChoice): EngineChoice {
  if (!(SOURCE_CHOICES as readonly string[]).includes(raw.source))
    throw new PortwatchError('EUSAGE', `unknown source '${raw.source}': use one of ${SOURCE_CHOICES.join(', ')}`);
  if (!(TRIGGER_CHOICES as readonly string[]).includes(raw.trigger))
    throw new PortwatchError('EUSAGE', `unknown trigger '${raw.trigger}': use one of ${TRIGGER_CHOICES.join(', ')}`);
  const choice: EngineChoice = { source: raw.source as SourceChoice, trigger: raw.trigger as TriggerChoice };
  if (raw.interval !== undefined) choice.interval = parseDuration(raw.interval, 'interval');
  const log = createLogger(raw.logLevel);
  if (log.isLevelEnabled('debug')) choice.onTick = (tick) => log.debug(tick, 'scan');
  return choice;
}

/** What else a target feeds (forward --serve): the relay serve reads the target's listeners from. */
export interface TargetHooks {
  /** Each session's watcher is attached here (and detached when it ends). */
  watcher?: TargetWatcher;
}

/** The usage rules of the target choice, checked before anything starts; `serving` (--serve): --token and --token-file are serve's. */
export function checkTargetChoice(url: string | undefined, raw: RawTargetChoice, serving: boolean): void {
  const given = [url !== undefined, raw.netnsPid !== undefined, raw.container !== undefined].filter(Boolean).length;
  // `forward --netns-pid PID 8080`: its one argument is a URL; ports go with --port.
  if (url !== undefined && /^:?\d[\d,:-]*$/.test(url))
    throw new PortwatchError(
      'EUSAGE',
      `'${url}' is not a URL: give ports with --port ${url.replace(/^:/, '')} (forward's argument is the URL of a portwatch serve)`,
    );
  if (given !== 1)
    throw new PortwatchError(
      'EUSAGE',
      'say what to forward from: --netns-pid PID, --container NAME, or the URL of a portwatch serve (one of them)',
    );
  if ((raw.token !== undefined || raw.tokenFile !== undefined) && url === undefined && !serving)
    throw new PortwatchError('EUSAGE', '--token and --token-file go with a URL (a portwatch serve to forward through) or with --serve');
  createLogger(raw.logLevel); // a bad level is a usage error in every mode
  if (url === undefined) engineChoice(raw);
  if (raw.netnsPid !== undefined) parsePid(raw.netnsPid);
}

/** Starts forwarding from the target checkTargetChoice() let through. */
export async function startTarget(
  url: string | undefined,
  raw: RawTargetChoice,
  options: Omit<ForwarderOptions, 'connector'>,
  hooks: TargetHooks = {},
): Promise<ForwardTarget> {
  if (url !== undefined) return forwardThroughServe(url, raw, options);
  const engine = engineChoice(raw);
  if (raw.container !== undefined) return forwardContainer(raw.container, engine, options, hooks.watcher);
  const pid = parsePid(raw.netnsPid!);
  if (!processExists(pid)) throw new PortwatchError('EUSAGE', `--netns-pid ${pid}: no such process`);
  const { onTick, ...watchOptions } = engine;
  const ns = forwardNamespace({ ...options, netnsPid: pid, watch: watchOptions, ...(onTick ? { onTick } : {}) });
  const relay = hooks.watcher;
  if (relay !== undefined) {
    relay.attach(ns.watcher);
    void ns.ended.then(() => relay.detach(ns.watcher));
  }
  return {
    name: `the netns of pid ${pid}`, // not the ports' owner: that is named after the port
    events: ns.forwarder,
    ended: ns.ended.then(() => `process ${pid} exited`),
    close: () => ns.close(),
  };
}
