/**
 * freePort(): what kill-port and `fuser -k` do, with the socket table as the judge. Each
 * process holding a listener on the ports is sent a signal (SIGTERM by default); portwatch
 * then watches the table until each has let go, and sends SIGKILL to those still holding a
 * port when the grace period ends. A listener whose owner is unknown is refused, and so is
 * portwatch itself, always, and its ancestors and pid 1 unless `force` is given.
 */
import { constants } from 'node:os';
import { PortwatchError } from './errors.js';
import { confirmHolders, DEFAULT_GRACE_MS, holdersOf, plan, type PidAction } from './free-port-plan.js';
import { processExists } from './namespaces.js';
import type { Listener, Protocol } from './listener.js';
import type { ScanOptions } from './scan.js';
import type { Trigger, TriggerChoice } from './triggers/trigger.js';
import type { TickEvent } from './watch/watch-types.js';
import { OWNERS_WAIT_MS } from './watch/late-owners.js';
import { PortWatcher } from './watch/watcher.js';
import { selectOnly } from './select-only.js';

export interface FreePortOptions extends ScanOptions {
  /** Listeners of this protocol (default 'tcp'). */
  protocol?: Protocol | 'any';
  /** The first signal (default 'SIGTERM'). */
  killSignal?: NodeJS.Signals;
  /** ms to wait after it before SIGKILL (default 5000). */
  grace?: number;
  /** Decide and report, but signal nothing. */
  dryRun?: boolean;
  /** Also signal pid 1 and portwatch's ancestors (never portwatch itself). */
  force?: boolean;
  signal?: AbortSignal;
  interval?: number;
  trigger?: TriggerChoice | Trigger;
  /** Called after every scan with the watcher's `tick` (its cost, the interval, owner walks), e.g. for debug logs. */
  onTick?: (tick: TickEvent) => void;
}

export interface PortState {
  port: number;
  free: boolean;
  /** Listening at the end (a restarted server, a refused owner). */
  listeners: Listener[];
}

export interface FreePortResult {
  /** Every port is free at the end (a dry run changes nothing). */
  free: boolean;
  ports: PortState[];
  actions: PidAction[];
}

/** Successive looks at the socket table (each started after the call); the returned function stops them. */
export type FollowLooks = (look: (listeners: readonly Listener[]) => void) => () => void;

const FIRST_LOOK_MS = 30_000;
const AFTER_KILL_MS = 3_000;

/** Looks until `done` says so or `ms` pass; resolves with the last listeners seen (null: none yet). Rejects EABORTED. */
function lookUntil(
  follow: FollowLooks,
  done: (ls: readonly Listener[]) => boolean,
  ms: number,
  signal?: AbortSignal,
): Promise<readonly Listener[] | null> {
  return new Promise((resolve, reject) => {
    let last: readonly Listener[] | null = null;
    let stop: (() => void) | null = null;
    let over = false;
    const end = (): void => {
      over = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      stop?.();
    };
    const onAbort = (): void => {
      end();
      reject(new PortwatchError('EABORTED', 'freeing the port was aborted'));
    };
    const timer = setTimeout(() => {
      end();
      resolve(last);
    }, ms);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    stop = follow((ls) => {
      if (over) return;
      last = ls;
      if (done(ls)) {
        end();
        resolve(ls);
      }
    });
    if (over) stop();
  });
}

/** Sends `sig`; records it, or why it could not be sent ('gone': the process has exited). */
function send(a: PidAction, sig: NodeJS.Signals): 'sent' | 'gone' | 'failed' {
  try {
    process.kill(a.pid as number, sig);
    a.signals.push(sig);
    return 'sent';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return 'gone';
    [a.outcome, a.reason] = ['failed', `cannot send ${sig}: ${code ?? (e as Error).message}`];
    return 'failed';
  }
}

/**
 * Waits until each action's process has let go of its sockets: it has exited, or the table
 * no longer shows it holding one of them; records when.
 */
async function awaitRelease(follow: FollowLooks, acting: PidAction[], startedAt: number, ms: number, signal?: AbortSignal) {
  const holding = (ls: readonly Listener[], a: PidAction): boolean => {
    const inodes = new Set(a.listeners.map((l) => l.inode));
    return processExists(a.pid as number) && ls.some((l) => inodes.has(l.inode) && holdersOf(l).some((h) => h.pid === a.pid));
  };
  const waiting = new Set(acting);
  const last = await lookUntil(
    follow,
    (ls) => {
      for (const a of [...waiting]) {
        if (holding(ls, a)) continue;
        a.ms = Math.round(performance.now() - startedAt);
        waiting.delete(a);
      }
      return waiting.size === 0;
    },
    ms,
    signal,
  );
  return { last, still: [...waiting] };
}

function portStates(ports: readonly number[], last: readonly Listener[], matches: (l: Listener) => boolean): PortState[] {
  return ports.map((port) => {
    const listeners = last.filter((l) => l.port === port && matches(l));
    return { port, free: listeners.length === 0, listeners };
  });
}

function validate(ports: readonly number[], o: FreePortOptions): void {
  if (ports.length === 0) throw new PortwatchError('EUSAGE', 'no port to free');
  for (const p of ports)
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new PortwatchError('EUSAGE', `invalid port ${String(p)}: use 1-65535`);
  if (o.grace !== undefined && !(Number.isFinite(o.grace) && o.grace >= 0))
    throw new PortwatchError('EUSAGE', `invalid grace ${String(o.grace)}: use ms ≥ 0`);
  if (o.killSignal !== undefined && !(o.killSignal in constants.signals))
    throw new PortwatchError('EUSAGE', `invalid signal '${String(o.killSignal)}'`);
  const protocol = o.protocol ?? 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'any')
    throw new PortwatchError('EUSAGE', `invalid protocol '${String(protocol)}'`);
}

/** freePort() on looks the caller provides (the MCP server's shared watcher). */
export async function freePortUsing(
  follow: FollowLooks,
  port: number | number[],
  options: Omit<FreePortOptions, keyof ScanOptions | 'onTick'> = {},
): Promise<FreePortResult> {
  const ports = [...new Set(Array.isArray(port) ? port : [port])];
  validate(ports, options);
  const protocol = options.protocol ?? 'tcp';
  const matches = (l: Listener): boolean => ports.includes(l.port) && (protocol === 'any' || l.protocol === protocol);
  const look = async (): Promise<readonly Listener[]> => {
    const ls = await lookUntil(follow, () => true, FIRST_LOOK_MS, options.signal);
    if (ls === null) throw new PortwatchError('ESCAN', `no scan of the socket table succeeded within ${FIRST_LOOK_MS / 1000} s`);
    return ls;
  };
  const first = await look();
  const actions = plan(first.filter(matches), options.force === true);
  confirmHolders(actions);
  let last: readonly Listener[] | null = first;
  if (!options.dryRun) {
    const sig = options.killSignal ?? 'SIGTERM';
    const grace = options.grace ?? DEFAULT_GRACE_MS;
    const startedAt = performance.now();
    const sent: PidAction[] = [];
    for (const a of actions.filter((x) => x.outcome === 'would-signal')) {
      const r = send(a, sig);
      if (r === 'sent') sent.push(a);
      else if (r === 'gone') [a.outcome, a.reason] = ['gone', 'had already exited'];
    }
    let still: PidAction[];
    ({ last, still } = await awaitRelease(follow, sent, startedAt, grace, options.signal));
    for (const a of sent) if (!still.includes(a)) a.outcome = 'stopped';
    if (still.length > 0 && sig !== 'SIGKILL') {
      const killed: PidAction[] = [];
      for (const a of still) {
        const r = send(a, 'SIGKILL');
        if (r === 'sent') killed.push(a);
        else if (r === 'gone') [a.outcome, a.ms] = ['stopped', Math.round(performance.now() - startedAt)]; // exited just now
      }
      ({ last, still } = await awaitRelease(follow, killed, startedAt, AFTER_KILL_MS, options.signal));
      for (const a of killed) a.outcome = still.includes(a) ? 'survived' : 'killed';
    } else for (const a of still) a.outcome = 'survived';
    for (const a of still) a.reason ??= `still holding the port ${sig === 'SIGKILL' ? grace : AFTER_KILL_MS} ms after SIGKILL`;
  }
  const states = portStates(ports, last ?? (await look()), matches);
  return { free: states.every((p) => p.free), ports: states, actions };
}

/** A watcher's scans as looks; while followed, it is asked to look at least every `everyMs`. */
export function watcherLooks(watcher: PortWatcher, everyMs = 100): FollowLooks {
  return (look) => {
    // Looks with every owner known: a plan needs the owner (an owner search going on leaves a
    // socket without one for a moment; see watch/late-owners.ts), up to OWNERS_WAIT_MS.
    const ownersBy = Date.now() + OWNERS_WAIT_MS;
    const onTick = (t: { error: string | null; ownersPending: number }): void => {
      if (t.error === null && (t.ownersPending === 0 || Date.now() >= ownersBy)) look(watcher.snapshot());
    };
    watcher.on('tick', onTick);
    const pacer = setInterval(() => watcher.rescan(), everyMs);
    watcher.rescan();
    return () => {
      clearInterval(pacer);
      watcher.off('tick', onTick);
    };
  };
}

/** Frees the ports: signals each listener's owner, waits until it lets go, SIGKILL after `grace` ms. */
export async function freePort(port: number | number[], options: FreePortOptions = {}): Promise<FreePortResult> {
  const { protocol, killSignal: _k, grace: _g, dryRun: _d, force: _f, signal: _s, onTick, ...scanOptions } = options;
  validate(Array.isArray(port) ? port : [port], options);
  const ports = Array.isArray(port) ? port : [port];
  const onPorts = (l: Pick<Listener, 'port' | 'protocol'>): boolean =>
    ports.includes(l.port) && (protocol === 'any' || l.protocol === (protocol ?? 'tcp'));
  // Owners of sockets on other ports are never looked for: on a busy host that is a walk of /proc saved.
  const watcher = new PortWatcher({ ...scanOptions, select: selectOnly(onPorts, scanOptions.select), filter: onPorts, persistent: true });
  watcher.on('error', () => {}); // a failed scan is retried; the deadlines bound the wait
  if (onTick !== undefined) watcher.on('tick', onTick);
  try {
    return await freePortUsing(watcherLooks(watcher, options.interval ?? 100), port, options);
  } finally {
    await watcher.close();
  }
}

export { DEFAULT_GRACE_MS, describeAction, parseSignal, type PidAction, type PidOutcome } from './free-port-plan.js';
