/**
 * Who freePort() may signal, decided before anything is sent: every process holding a
 * listener on the ports, one action per pid. A listener whose owner is unknown is refused;
 * so is portwatch itself, always, and its ancestors (the shell or agent that runs it) and
 * pid 1 unless forced. And how each action reads in one line.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { PortwatchError } from './errors.js';
import { displayAddress, type Listener } from './listener.js';
import { readProcessInfo } from './owners/process-info.js';
import { escapeControl } from './text/escape.js';

export const DEFAULT_GRACE_MS = 5_000;
const MAX_ANCESTORS = 128;

/**
 * stopped: let go of the ports after the first signal; killed: after SIGKILL; survived: still
 * holding after SIGKILL; gone: had exited before it was signalled; failed: could not be
 * signalled (EPERM); refused: not signalled (`reason`); would-signal: a dry run.
 */
export type PidOutcome = 'stopped' | 'killed' | 'survived' | 'gone' | 'failed' | 'refused' | 'would-signal';

export interface PidAction {
  /** null: the owner of `listeners` is unknown. */
  pid: number | null;
  name: string | null;
  /** What it held on the ports at the start. */
  listeners: Listener[];
  /** Signals sent, in order. */
  signals: NodeJS.Signals[];
  outcome: PidOutcome;
  /** Why it was refused, failed or survived; null otherwise. */
  reason: string | null;
  /** ms from the first signal until it let go (stopped, killed); null otherwise. */
  ms: number | null;
}

/** `TERM`, `SIGTERM`, `term`, `15` → 'SIGTERM'; EUSAGE otherwise. */
export function parseSignal(text: string): NodeJS.Signals {
  const t = text.trim().toUpperCase();
  const names = Object.keys(constants.signals) as NodeJS.Signals[];
  const byNumber = /^\d+$/.test(t) ? names.find((n) => constants.signals[n] === Number(t)) : undefined;
  const name = byNumber ?? names.find((n) => n === t || n === `SIG${t}`);
  if (name === undefined)
    throw new PortwatchError('EUSAGE', `invalid signal '${text}': use a name such as TERM, INT, HUP, KILL or a number`);
  return name;
}

/** Every process holding a listener (`holders`: a pre-forked server's master and workers), the owner first. */
export function holdersOf(l: Listener): { pid: number; name: string }[] {
  const listed = [...(l.holders ?? [])];
  const owner = l.process;
  if (owner === null) return listed;
  return [{ pid: owner.pid, name: owner.name }, ...listed.filter((h) => h.pid !== owner.pid)];
}

/**
 * Whether process `pid` holds one of these sockets now, read from /proc/PID/fd; null when
 * that cannot be read. What a scan says about owners may be older than this moment (a
 * holder is remembered from when the socket was first seen, and a pid can be reused): a
 * process is signalled only after this says yes.
 */
export function holdsSocket(pid: number, inodes: ReadonlySet<number>): boolean | null {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? false : null;
  }
  for (const fd of fds) {
    let link: string;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode !== undefined && inodes.has(Number(inode))) return true;
  }
  return false;
}

/** Marks the actions whose process no longer holds its sockets `gone`, or `failed` when that cannot be checked. */
export function confirmHolders(actions: readonly PidAction[]): void {
  for (const a of actions) {
    if (a.outcome !== 'would-signal' || a.pid === null) continue;
    const holds = holdsSocket(a.pid, new Set(a.listeners.map((l) => l.inode)));
    if (holds === false) [a.outcome, a.reason] = ['gone', 'no longer holds the socket (exited or closed it)'];
    else if (holds === null) [a.outcome, a.reason] = ['failed', `cannot read /proc/${a.pid}/fd to check that it holds the socket`];
  }
}

/** portwatch's own pid and its ancestors' (a shell, an agent), each with why it is kept. */
function protectedPids(): Map<number, string> {
  const kept = new Map<number, string>([[process.pid, 'it is this portwatch itself']]);
  let pid: number | null = process.ppid;
  for (let i = 0; i < MAX_ANCESTORS && pid !== null && pid > 1 && !kept.has(pid); i++) {
    kept.set(pid, `it is an ancestor of this portwatch (pid ${process.pid})`);
    pid = readProcessInfo(pid)?.ppid ?? null;
  }
  return kept;
}

/**
 * The pids /proc names are this process's to signal only if /proc belongs to its pid
 * namespace (`/proc/self` is its own pid): a /proc mounted for another namespace names
 * other processes by the same numbers. Null when it does.
 */
function alienProc(): string | null {
  let self: string | null = null;
  try {
    self = readlinkSync('/proc/self');
  } catch {
    // a /proc of another pid namespace has no entry for this process
  }
  return self === String(process.pid) ? null : 'this /proc shows another pid namespace, whose pids name other processes here';
}

function refusal(pid: number, force: boolean, kept: Map<number, string>, alien: string | null): string | null {
  if (alien !== null) return alien;
  if (pid === process.pid) return kept.get(pid) ?? null;
  if (force) return null;
  if (pid === 1) return 'pid 1 (init) is not signalled unless forced (--force)';
  const why = kept.get(pid);
  return why === undefined ? null : `${why}; forcing (--force) signals it anyway`;
}

export function plan(found: readonly Listener[], force: boolean): PidAction[] {
  const kept = protectedPids();
  const alien = alienProc();
  const byPid = new Map<number, PidAction>();
  const actions: PidAction[] = [];
  const unknown = process.getuid?.() === 0 ? 'no process visible here holds it' : 'this user cannot see its process; run as root';
  for (const l of found) {
    const holders = holdersOf(l);
    if (holders.length === 0) {
      actions.push({
        pid: null,
        name: null,
        listeners: [l],
        signals: [],
        outcome: 'refused',
        reason: `owner unknown: ${unknown}`,
        ms: null,
      });
    }
    for (const h of holders) {
      let a = byPid.get(h.pid);
      if (a === undefined) {
        const reason = refusal(h.pid, force, kept, alien);
        a = {
          pid: h.pid,
          name: h.name,
          listeners: [],
          signals: [],
          outcome: reason === null ? 'would-signal' : 'refused',
          reason,
          ms: null,
        };
        byPid.set(h.pid, a);
        actions.push(a);
      }
      a.listeners.push(l);
    }
  }
  return actions;
}

/** One line per action, for people: `pid 12 (node) tcp [::1]:3000: SIGTERM; let go after 40 ms`. */
export function describeAction(a: PidAction, how: { killSignal?: NodeJS.Signals; grace?: number } = {}): string {
  const where = a.listeners.map((l) => `${l.protocol} ${displayAddress(l)}`).join(', ');
  const who = a.pid === null ? where : `pid ${a.pid} (${escapeControl(a.name ?? '?')}) ${where}`;
  const [first, then] = a.signals;
  switch (a.outcome) {
    case 'stopped':
      return `${who}: sent ${first}; let go after ${a.ms} ms`;
    case 'killed':
      return `${who}: sent ${first}, still holding after ${how.grace ?? DEFAULT_GRACE_MS} ms, sent ${then}; let go after ${a.ms} ms`;
    case 'survived':
      return `${who}: sent ${a.signals.join(', ')}; ${a.reason}`;
    case 'gone':
      return `${who}: ${a.reason ?? 'had already exited'}`;
    case 'would-signal':
      return `${who}: would be sent ${how.killSignal ?? 'SIGTERM'} (dry run)`;
    case 'failed':
      return `${who}: ${a.reason}`;
    default:
      return `${who}: refused: ${a.reason}`;
  }
}
