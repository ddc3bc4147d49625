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
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { rmdir, writeFile } from 'node:fs/promises';
import { geteuid } from 'node:process';
import { processExists } from '../namespaces.js';

const DEFAULT_ROOT = '/sys/kernel/tracing';
const PREFIX = 'portwatch-';

/** TCP_LISTEN = 10, TCP_CLOSE = 7: a plain `oldstate == 10` would also fire for every accepted connection. */
export const LISTEN_FILTER = 'newstate == 10 || (oldstate == 10 && newstate == 7)';
/** Per-CPU ring buffer: enough for bursts between two reads; a new instance otherwise gets ~1.4 MB per CPU. */
const BUFFER_KB = 64;

/** The events enabled in an instance: [event directory, filter]. */
export const TRACE_EVENTS: readonly (readonly [string, string])[] = [
  ['sock/inet_sock_set_state', LISTEN_FILTER],
  // The exit, not the entry: on entry the socket is not bound yet, and a scan would miss it.
  ['syscalls/sys_exit_bind', 'ret == 0'],
];

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
export function createInstance(root: string): string {
  const dir = `${root}/instances/${instanceName()}`;
  try {
    mkdirSync(dir);
  } catch (e) {
    // Left by an earlier process with our pid (pid reuse): dead, so ours to take over.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create ${dir}: ${(e as Error).message}`, { cause: e });
  }
  try {
    write(`${dir}/buffer_size_kb`, String(BUFFER_KB));
    // Wake the reader on the first event, not when the buffer is half full.
    if (existsSync(`${dir}/buffer_percent`)) write(`${dir}/buffer_percent`, '0');
    for (const [event, filter] of TRACE_EVENTS) {
      write(`${dir}/events/${event}/filter`, filter);
      write(`${dir}/events/${event}/enable`, '1');
    }
  } catch (e) {
    removeInstanceNow(dir);
    throw e;
  }
  return dir;
}

/** rmdir, once; false when the kernel still holds it (a read in progress). */
export function removeInstanceNow(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * Removes the instance after its reader was closed, off the main thread: the kernel takes
 * 30–70 ms to free an instance (its per-CPU buffers, an RCU grace period), which would
 * otherwise hold up whatever the closing program does next (`wait` printing its answer).
 * Should a read still be in progress in the kernel (it cannot be cancelled), a line written
 * to trace_marker completes it; bounded.
 */
export async function removeInstance(dir: string, attempts = 20): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    try {
      await rmdir(dir);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    }
    try {
      await writeFile(`${dir}/trace_marker`, 'portwatch: closing\n');
    } catch {
      // gone or not writable: the next rmdir says which
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return removeInstanceNow(dir);
}

/** How long the background removal keeps trying (40 × 50 ms). */
const BACKGROUND_TRIES = 40;

/**
 * Leaves the removal to a short-lived detached `sh` (≤ 2 s), for a command that is about to
 * exit: the kernel takes 30–70 ms to free an instance, which `wait` would otherwise add to
 * every answer a script waits on. Its trace_pipe must be closed already (an open reader keeps
 * rmdir failing with EBUSY until the process is gone, which the loop also outlasts).
 */
export function removeInstanceInBackground(dir: string): void {
  const loop = `i=0; while [ $i -lt ${BACKGROUND_TRIES} ]; do rmdir "$1" 2>/dev/null && exit 0; [ -d "$1" ] || exit 0; sleep 0.05; i=$((i+1)); done; exit 1`;
  try {
    spawn('sh', ['-c', loop, 'sh', dir], { detached: true, stdio: 'ignore' }).unref();
  } catch {
    removeInstanceNow(dir); // no sh: pay for it here
  }
}
