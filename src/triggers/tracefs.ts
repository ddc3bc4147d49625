/**
 * The tracefs trigger (root, Linux): the kernel says when a TCP socket enters or leaves
 * LISTEN and when a bind() succeeds, ~0.3 ms after it happens, instead of us asking every
 * 100 ms. One instance and one reader per process, however many subscribe: the first
 * subscriber opens them, the last one out removes them.
 */
import type { Socket } from 'node:net';
import { PortwatchError } from '../errors.js';
import { LineSplitter, openTracePipe, parseTraceLine, pipeReaderUnavailableReason } from './trace-pipe.js';
import {
  createInstance,
  ensureTracefs,
  sweepStaleInstances,
  traceEventsFor,
  tracefsUnavailableReason,
  type TraceEvent,
} from './tracefs-instance.js';
import {
  removeInstance,
  removeInstanceInBackground,
  removeInstanceNow,
  removeInstanceWhenGone,
  type InstanceWatchdog,
} from './tracefs-removal.js';
import type { Trigger, TriggerSubscriber } from './trigger.js';

/** UDP closes and sendto() auto-binds make no event: the timer still looks this often. */
export const TRACEFS_SAFETY_NET_MS = 1_000;

/** Why the tracefs trigger cannot work here, or null (no side effects). */
export function tracefsTriggerUnavailableReason(): string | null {
  return tracefsUnavailableReason() ?? pipeReaderUnavailableReason();
}

/** What this process's reader has seen since it started (for diagnostics and tests). */
export interface TracefsStats {
  /** Lines read from trace_pipe: what the kernel's filters let through. */
  lines: number;
  hints: number;
}

const stats: TracefsStats = { lines: 0, hints: 0 };

export function tracefsStats(): TracefsStats {
  return { ...stats };
}

class SharedReader {
  readonly subscribers = new Set<TriggerSubscriber>();
  private readonly lines = new LineSplitter();
  private closed = false;
  private socket!: Socket;

  private constructor(readonly dir: string) {}

  /** Sets everything up synchronously, so a subscriber knows at once whether it works. */
  static open(): SharedReader {
    const unavailable = pipeReaderUnavailableReason();
    if (unavailable !== null) throw new Error(unavailable);
    const root = ensureTracefs();
    sweepStaleInstances(root);
    const dir = createNarrowed(root);
    const reader = new SharedReader(dir);
    try {
      reader.socket = openTracePipe(`${dir}/trace_pipe`, (chunk) => reader.onData(chunk));
    } catch (e) {
      removeInstanceNow(dir);
      throw e;
    }
    reader.socket.on('error', (e) => reader.fail(e));
    reader.socket.on('end', () => reader.fail(new Error('trace_pipe ended')));
    if (removeInBackground && !watchdogFor(dir)) watchdog = removeInstanceWhenGone(dir);
    return reader;
  }

  /**
   * Closes the pipe (its fd is released at once) and removes the instance: at once, or when
   * asked to leave it to the background, by the watchdog when this process is gone (a
   * detached `sh` when there is none).
   */
  close(): Promise<boolean> {
    this.closed = true;
    this.socket.destroy();
    if (!removeInBackground) return removeInstance(this.dir);
    if (!watchdogFor(this.dir)) removeInstanceInBackground(this.dir);
    return Promise.resolve(true);
  }

  /** For process exit: no promise will run any more, so only what can be done now. */
  closeNow(): void {
    this.closed = true;
    this.socket.destroy();
    if (!(removeInBackground && watchdogFor(this.dir))) removeInstanceNow(this.dir);
  }

  private onData(chunk: string): void {
    for (const line of this.lines.push(chunk)) {
      stats.lines++;
      const hint = parseTraceLine(line);
      if (hint === null) continue;
      stats.hints++;
      for (const s of this.subscribers) {
        try {
          s.hint(hint);
        } catch {
          // one subscriber's failure is not another's
        }
      }
    }
  }

  private fail(error: Error): void {
    if (this.closed) return;
    if (shared === this) shared = null;
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    void this.close();
    for (const s of subscribers) s.failed(error);
  }
}

let shared: SharedReader | null = null;
let exitHookInstalled = false;
let removeInBackground = false;
/** Removes this process's instance once the process is gone (background removal only). */
let watchdog: InstanceWatchdog | null = null;
/** The events of this process's instance when narrowed to some ports (`wait`); null: every listen and bind. */
let narrowedEvents: readonly TraceEvent[] | null = null;

function watchdogFor(dir: string): boolean {
  return watchdog !== null && watchdog.dir === dir && watchdog.alive();
}

/**
 * For a command that exits as soon as its last watcher closes (`wait`, `kill`); call it before
 * the first watcher starts. The tracefs instance is then removed by another process instead of
 * holding up the exit for the kernel's 30–70 ms: a watchdog started with the instance removes
 * it once this process is gone (however it ends, SIGKILL included), so neither the answer nor
 * the exit waits for a spawn. Library users keep the default: close() resolves once it is gone.
 */
export function removeTracefsInstanceInBackground(): void {
  removeInBackground = true;
}

/** The instance with the narrowed events, or every listen and bind when a kernel refuses the port filter. */
function createNarrowed(root: string): string {
  if (narrowedEvents !== null) {
    try {
      return createInstance(root, narrowedEvents);
    } catch {
      // more hints than asked for (and the scans they cost), but no less
    }
  }
  return createInstance(root);
}

/** The ports a process's watchers care about (for narrowTracefsEvents). */
export interface TracefsInterest {
  /** TCP ports whose entering and leaving LISTEN matters. */
  tcpPorts: readonly number[];
  /** UDP binds matter too (a bind names no port: every successful one on the host passes). */
  udp: boolean;
}

/**
 * For a command whose one watcher cares about some ports only (`wait`); call it before the
 * watcher starts. The kernel then passes only those ports' TCP LISTEN changes (and bind exits
 * only when UDP matters), so other programs opening and closing ports by the hundred (a test
 * suite) neither wake this process nor pace its scans behind theirs: the scan its own port's
 * listen() asks for starts at once. Every watcher of the process gets only these hints (and
 * the 1 s safety net): not for a process that watches anything else.
 */
export function narrowTracefsEvents(interest: TracefsInterest): void {
  const events = traceEventsFor(interest.tcpPorts, interest.udp);
  narrowedEvents = events.length > 0 ? events : null;
}

/** A process that ends without closing its watchers (or calls process.exit()) still removes its instance. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    shared?.closeNow();
    shared = null;
  });
}

function acquire(subscriber: TriggerSubscriber): SharedReader {
  if (shared === null) {
    try {
      shared = SharedReader.open();
    } catch (e) {
      throw new PortwatchError('ESOURCE_UNAVAILABLE', `trigger 'tracefs' is not available here: ${(e as Error).message}`, { cause: e });
    }
    installExitHook();
  }
  shared.subscribers.add(subscriber);
  return shared;
}

async function release(reader: SharedReader, subscriber: TriggerSubscriber): Promise<void> {
  if (!reader.subscribers.delete(subscriber) || reader.subscribers.size > 0) return;
  if (shared === reader) shared = null;
  await reader.close();
}

export const tracefsTrigger: Trigger = {
  name: 'tracefs',
  safetyNetMs: TRACEFS_SAFETY_NET_MS,
  subscribe(subscriber) {
    const reader = acquire(subscriber);
    let done: Promise<void> | null = null;
    return () => (done ??= release(reader, subscriber));
  },
};

/**
 * Whether an exit that skips 'exit' handlers (the CLI's exitNow) would leave this process's
 * instance behind: one is open and no watchdog of its own will remove it (none was asked for,
 * or it could not start or has died). A later watcher's sweep would remove it, but only then.
 */
export function tracefsInstanceNeedsExitHook(): boolean {
  return shared !== null && !(removeInBackground && watchdogFor(shared.dir));
}

/** The directory of this process's instance while one is open (for diagnostics and tests). */
export function tracefsInstanceDir(): string | null {
  return shared?.dir ?? null;
}
