/**
 * The tracefs side of the tracefs trigger: find (or, as root, mount) tracefs, make a
 * private instance `portwatch-<pid>` with only the events we need, remove instances whose
 * process is gone, and remove our own.
 *
 * A private instance leaves the global trace buffer (and anyone else's tracing) alone.
 * Instances outlive their process: a watcher killed by SIGKILL leaves one recording into
 * its buffer until someone removes it, hence the pid in the name and the sweep at start.
 * The kernel refuses to remove an instance whose trace_pipe is open (EBUSY), so a sweep can
 * never pull one from under a live reader.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { geteuid } from 'node:process';
import { processExists } from '../namespaces.js';
import { removeInstanceNow } from './tracefs-removal.js';

const DEFAULT_ROOT = '/sys/kernel/tracing';
const PREFIX = 'portwatch-';

/** TCP_LISTEN = 10, TCP_CLOSE = 7: a plain `oldstate == 10` would also fire for every accepted connection. */
export const LISTEN_FILTER = 'newstate == 10 || (oldstate == 10 && newstate == 7)';
/** Per-CPU ring buffer: enough for bursts between two reads; a new instance otherwise gets ~1.4 MB per CPU. */
const BUFFER_KB = 64;

/** An event to enable in an instance: its directory under events/, and its filter. */
export type TraceEvent = readonly [event: string, filter: string];

const STATE_EVENT = 'sock/inet_sock_set_state';
// The exit, not the entry: on entry the socket is not bound yet, and a scan would miss it.
const BIND_EVENT: TraceEvent = ['syscalls/sys_exit_bind', 'ret == 0'];

/** The events enabled in an instance: TCP sockets entering and leaving LISTEN, successful binds. */
export const TRACE_EVENTS: readonly TraceEvent[] = [[STATE_EVENT, LISTEN_FILTER], BIND_EVENT];

/** Beyond this many ports a filter is not worth its length: every TCP listen passes. */
const MAX_FILTER_PORTS = 64;

/**
 * The events for a process that cares about some ports only (`wait`): TCP LISTEN changes of
 * those ports alone, filtered in the kernel, so other programs' port churn wakes nobody; bind
 * exits only when UDP matters (they carry no port: each one passes).
 */
export function traceEventsFor(tcpPorts: readonly number[], udp: boolean): TraceEvent[] {
  const ports = [...new Set(tcpPorts)].filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
  const events: TraceEvent[] = [];
  if (ports.length > MAX_FILTER_PORTS) events.push([STATE_EVENT, LISTEN_FILTER]);
  else if (ports.length > 0) events.push([STATE_EVENT, `(${LISTEN_FILTER}) && (${ports.map((p) => `sport == ${p}`).join(' || ')})`]);
  if (udp) events.push(BIND_EVENT);
  return events;
}

export function isRoot(): boolean {
  return typeof geteuid === 'function' && geteuid() === 0;
}

/** Where tracefs is mounted, from /proc/self/mounts; /sys/kernel/tracing preferred. */
export function mountedTracefs(mounts = '/proc/self/mounts'): string | null {
  let text: string;
  try {
    text = readFileSync(mounts, 'utf8');
  } catch {
    return null;
  }
  const points = text
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'tracefs' && f[1] !== undefined)
    .map((f) => (f[1] as string).replace(/\\040/g, ' '));
  return points.includes(DEFAULT_ROOT) ? DEFAULT_ROOT : (points[0] ?? null);
}

function kernelHasTracefs(): boolean {
  try {
    return /\btracefs\n/.test(readFileSync('/proc/filesystems', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Why tracefs cannot be used here, or null. Has no side effects: an unmounted tracefs
 * counts as usable when we are root and the kernel has it (opening will mount it).
 */
export function tracefsUnavailableReason(): string | null {
  if (process.platform !== 'linux') return `tracefs is Linux only (this is ${process.platform})`;
  const root = mountedTracefs();
  if (root === null) {
    if (!kernelHasTracefs()) return 'this kernel has no tracefs';
    if (!isRoot()) return 'tracefs is not mounted, and only root may mount it';
    if (!existsSync(DEFAULT_ROOT)) return `${DEFAULT_ROOT} does not exist to mount tracefs on`;
    return null;
  }
  if (!existsSync(`${root}/instances`)) return `${root} has no instances directory (kernel too old)`;
  for (const [event] of TRACE_EVENTS) {
    if (!existsSync(`${root}/events/${event}`)) return `the kernel has no ${event.replace('/', ':')} tracepoint`;
  }
  return null;
}

/** The tracefs mount point, mounting it on /sys/kernel/tracing when needed (root only). */
export function ensureTracefs(): string {
  const mounted = mountedTracefs();
  if (mounted !== null) return mounted;
  const reason = tracefsUnavailableReason();
  if (reason !== null) throw new Error(reason);
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', DEFAULT_ROOT], { stdio: 'ignore', timeout: 5_000 });
  } catch (e) {
    throw new Error(`cannot mount tracefs on ${DEFAULT_ROOT}: ${(e as Error).message}`);
  }
  const now = mountedTracefs();
  if (now === null) throw new Error(`mounted tracefs on ${DEFAULT_ROOT}, but it does not show in /proc/self/mounts`);
  return now;
}

export function instanceName(pid = process.pid): string {
  return `${PREFIX}${pid}`;
}

/** Removes `portwatch-<pid>` instances whose process is gone; returns the names removed. */
export function sweepStaleInstances(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(`${root}/instances`);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length));
    if (!Number.isSafeInteger(pid) || pid === process.pid || processExists(pid)) continue;
    try {
      rmdirSync(`${root}/instances/${name}`);
      removed.push(name);
    } catch {
      // EBUSY: someone still reads it (a watcher in another pid namespace); not ours to take
    }
  }
  return removed;
}

function write(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw new Error(`cannot write '${value}' to ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Creates (or takes over) our instance and enables the events; returns its directory. */
export function createInstance(root: string, events: readonly TraceEvent[] = TRACE_EVENTS): string {
  const dir = `${root}/instances/${instanceName()}`;
  let takenOver = false;
  try {
    mkdirSync(dir);
  } catch (e) {
    // Left by an earlier process with our pid (pid reuse): dead, so ours to take over.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create ${dir}: ${(e as Error).message}`, { cause: e });
    takenOver = true;
  }
  try {
    write(`${dir}/buffer_size_kb`, String(BUFFER_KB));
    // Wake the reader on the first event, not when the buffer is half full.
    if (existsSync(`${dir}/buffer_percent`)) write(`${dir}/buffer_percent`, '0');
    // What the earlier owner enabled and we do not want stays off.
    if (takenOver) for (const [event] of TRACE_EVENTS) if (!events.some(([e]) => e === event)) write(`${dir}/events/${event}/enable`, '0');
    for (const [event, filter] of events) {
      write(`${dir}/events/${event}/filter`, filter);
      write(`${dir}/events/${event}/enable`, '1');
    }
  } catch (e) {
    removeInstanceNow(dir);
    throw e;
  }
  return dir;
}
