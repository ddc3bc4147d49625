/**
 * What a process `run` started has become: the process, its process group, and every
 * descendant — also those that left the group (setsid, a shell's job control) and those
 * reparented to init when their parent exited, found by the run's token in their
 * environment or because `run` placed them in the tree when they listened.
 *
 * Stopping it is what a careful person at a shell would do: SIGTERM (with SIGCONT, so a
 * stopped process can act on it), a grace period, SIGKILL, and the names of whatever is
 * still there. npm, npx and sh do not pass signals on, so signalling only the direct child
 * leaves a dev server holding its port, re-parented to init.
 */
import { realProc, type ProcFs } from '../proc/proc-fs.js';
import { environValue } from '../rules/proc.js';
import { RUN_TOKEN_ENV } from './process-tree.js';
import { readProcEntry, readProcTable, type ProcEntry } from './proc-table.js';

export interface SpawnedTreeOptions {
  /** The root was spawned detached, so it leads its own process group: signal the group. */
  group: boolean;
  /** The token (PORTWATCH_RUN_ID) the root was given, or null. */
  token: string | null;
  /** Processes known to be members otherwise (placed when they listened). */
  known?: () => Iterable<{ pid: number; startTime: string }>;
  /** The /proc seam (default: the real /proc). */
  proc?: Pick<ProcFs, 'pids' | 'stat' | 'environ'>;
}

/** After SIGKILL, how long a process may take to disappear before it is reported. */
const KILL_WAIT_MS = 1_000;
const KILL_ROUNDS = 3;
const FIRST_POLL_MS = 20;
const MAX_POLL_MS = 200;

const key = (p: { pid: number; startTime: string }): string => `${p.pid}:${p.startTime}`;

/** false when the target is gone (or not ours to signal). */
function send(target: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch {
    return false;
  }
}

export class SpawnedTree {
  private readonly rootStart: string | null;
  private readonly proc: Pick<ProcFs, 'pids' | 'stat' | 'environ'>;
  private stopping: Promise<ProcEntry[]> | null = null;
  private finished = false;
  private hurried = false;
  private wake: (() => void) | null = null;
  /** Members seen before: once the parent of one that left the group dies, only this remembers it. */
  private readonly seen = new Set<string>();
  /** Processes whose environment was read and holds no token: not read again on every poll. */
  private readonly unmarked = new Set<string>();

  constructor(
    readonly pid: number,
    private readonly options: SpawnedTreeOptions,
  ) {
    this.proc = options.proc ?? realProc;
    // Read at once: until Node reaps it, even a root that exited at once is still in /proc.
    this.rootStart = readProcEntry(pid, this.proc)?.startTime ?? null;
  }

  /** Has stop() been called? */
  get stopStarted(): boolean {
    return this.stopping !== null;
  }

  /** The live processes of the tree now. */
  members(): ProcEntry[] {
    const rootStart = this.rootStart === null ? 0 : Number(this.rootStart);
    // A descendant starts after its root: everything older is out at once (and never has its environment read).
    // Zombies stay in for now: a dying Node's main thread shows Z while its children are still its children.
    const candidates = readProcTable(this.proc).filter((e) => e.pid !== process.pid && e.pid > 1 && Number(e.startTime) >= rootStart);
    const known = new Set<string>(this.seen);
    for (const k of this.options.known?.() ?? []) known.add(key(k));
    const members = new Map<number, ProcEntry>();
    for (const e of candidates) {
      const root = e.pid === this.pid && (this.rootStart === null || e.startTime === this.rootStart);
      if (root || (this.options.group && e.pgid === this.pid) || known.has(key(e))) members.set(e.pid, e);
    }
    const descend = (): void => {
      for (let grew = true; grew;) {
        grew = false;
        for (const e of candidates)
          if (!members.has(e.pid) && members.has(e.ppid)) {
            members.set(e.pid, e);
            grew = true;
          }
      }
    };
    descend();
    const token = this.options.token;
    if (token !== null) {
      let marked = false;
      for (const e of candidates) {
        if (members.has(e.pid) || this.unmarked.has(key(e))) continue;
        const environ = this.proc.environ(e.pid);
        if (environ !== null && environValue(environ, RUN_TOKEN_ENV) === token) {
          members.set(e.pid, e);
          marked = true;
        } else this.unmarked.add(key(e));
      }
      if (marked) descend();
    }
    for (const m of members.values()) this.seen.add(key(m));
    return [...members.values()].filter((m) => m.state !== 'Z' && m.state !== 'X'); // dead, only not reaped
  }

  /** Sends `signal` the way a terminal would have: to the group (the root alone without one). */
  signal(signal: NodeJS.Signals): void {
    if (this.options.group && send(-this.pid, signal)) return;
    const root = readProcEntry(this.pid, this.proc);
    if (root !== null && root.startTime === this.rootStart && root.state !== 'Z') send(this.pid, signal);
  }

  /**
   * SIGTERM to everything in the tree, SIGKILL after `graceMs` to what is left; resolves
   * with what survived even that. Calling it again returns the same stop.
   */
  stop(graceMs: number): Promise<ProcEntry[]> {
    this.stopping ??= this.stopAll(graceMs).then((left) => {
      this.finished = left.length === 0;
      return left;
    });
    return this.stopping;
  }

  /** Cuts the grace period short (a second Ctrl-C): SIGKILL now. */
  hurry(): void {
    this.hurried = true;
    this.wake?.();
  }

  /** The last resort, for a process 'exit' handler: SIGKILL to everything, synchronously. */
  killNow(): void {
    if (this.finished) return;
    const members = this.members(); // first: once the root is dead, its children are no longer its children
    if (this.options.group) send(-this.pid, 'SIGKILL');
    for (const m of members) send(m.pid, 'SIGKILL');
  }

  private async stopAll(graceMs: number): Promise<ProcEntry[]> {
    const deadline = Date.now() + graceMs;
    const termed = new Set<string>();
    const term = (list: ProcEntry[]): void => {
      for (const m of list) {
        if (termed.has(key(m))) continue;
        termed.add(key(m));
        send(m.pid, 'SIGTERM');
        send(m.pid, 'SIGCONT');
      }
    };
    let left = this.members();
    if (this.options.group && send(-this.pid, 'SIGTERM')) {
      send(-this.pid, 'SIGCONT');
      // They have it from the group signal; a second SIGTERM reads as "force" to some programs.
      for (const m of left) if (m.pgid === this.pid) termed.add(key(m));
    }
    term(left);
    for (let pause = FIRST_POLL_MS; left.length > 0 && !this.hurried && Date.now() < deadline; pause = Math.min(pause * 2, MAX_POLL_MS)) {
      await this.sleep(Math.min(pause, deadline - Date.now()));
      left = this.members();
      term(left); // what appeared meanwhile (forked in a SIGTERM handler, say)
    }
    for (let round = 0; round < KILL_ROUNDS && left.length > 0; round++) {
      if (this.options.group) send(-this.pid, 'SIGKILL');
      for (const m of left) send(m.pid, 'SIGKILL');
      const until = Date.now() + KILL_WAIT_MS;
      for (let pause = FIRST_POLL_MS; ; pause = Math.min(pause * 2, MAX_POLL_MS)) {
        await this.sleep(pause);
        left = this.members();
        if (left.length === 0 || Date.now() >= until) break;
      }
    }
    return left;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(ms, 0));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
