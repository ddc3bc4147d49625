/**
 * A cheap look at whether a network namespace changed: /proc/<pid>/net/sockstat and
 * sockstat6, opened once through a process of the namespace and kept (the open file refers
 * to the namespace, not the process, so it keeps working after that process exits; and it
 * holds the namespace, like the sock_diag socket does), re-read with pread at offset 0:
 * ~3–10 µs each here, against ~150 µs for the four sock_diag dumps and milliseconds for
 * /proc/<pid>/net/tcp*. Their `inuse` counts change whenever a listener (or a connection)
 * comes or goes in that namespace. Equal counts do not prove nothing changed (one socket
 * closed and another opened between two probes), so pollers still read every namespace now
 * and then (host-sweep.ts).
 */
import { closeSync, openSync, readlinkSync, readSync } from 'node:fs';
import { netnsOfLink, readInuse } from './netns-text.js';

const buf = Buffer.allocUnsafe(2048);
const counts: number[] = [];

export class SockstatProbe {
  private constructor(
    private fds: number[] | null,
    /** The counts at the last probe (null: none yet). */
    private last: number[] | null = null,
  ) {}

  /**
   * Opens the probe through the first of `members` still in `netns` (checked after the
   * open, so a pid that moved meanwhile is not trusted); null when none is.
   */
  static open(netns: string, members: readonly number[], procRoot: string): SockstatProbe | null {
    for (const pid of members.slice(0, 4)) {
      const fds: number[] = [];
      try {
        for (const f of ['sockstat', 'sockstat6']) fds.push(openSync(`${procRoot}/${pid}/net/${f}`, 'r'));
      } catch {
        // no IPv6 (no sockstat6), or the process is gone: what opened is used, or the next is tried
      }
      if (fds.length > 0 && linksTo(procRoot, pid, netns)) return new SockstatProbe(fds);
      for (const fd of fds) closeSync(fd);
    }
    return null;
  }

  /** Did the counts change since the last call? null when the probe stopped working (then closed). */
  changed(): boolean | null {
    if (this.fds === null) return null;
    let at = 0;
    try {
      for (const fd of this.fds) at = readInuse(buf, readSync(fd, buf, 0, buf.length, 0), counts, at);
    } catch {
      this.close(); // pread refused (ESPIPE on some kernel): the namespace is read instead from now on
      return null;
    }
    const last = this.last;
    let changed = last === null || last.length !== at;
    for (let i = 0; i < at && !changed; i++) changed = last![i] !== counts[i];
    if (changed) this.last = counts.slice(0, at);
    return changed;
  }

  get open(): boolean {
    return this.fds !== null;
  }

  close(): void {
    for (const fd of this.fds ?? []) {
      try {
        closeSync(fd);
      } catch {
        // already gone
      }
    }
    this.fds = null;
  }
}

/** Is `pid` in `netns` now? */
export function linksTo(procRoot: string, pid: number, netns: string): boolean {
  try {
    return netnsOfLink(readlinkSync(`${procRoot}/${pid}/ns/net`)) === netns;
  } catch {
    return false;
  }
}
