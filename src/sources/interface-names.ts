/**
 * Names of the devices sockets are bound to, for sources that report only an index
 * (sock_diag). Read from the scanned namespace's own /proc/<pid>/net files, so a container's
 * `eth0` is not named after whatever has that index on the host.
 *
 * Cached: most scans see no bound socket and read nothing, and a host whose resolver keeps
 * `127.0.0.53%lo` open must not pay two file reads every scan. The table is re-read when an
 * index it has not been asked about appears, and when it is older than maxAgeMs (an interface
 * renamed while down keeps its index).
 */
import { readBounded } from '../owners/read-bounded.js';
import { parseIgmp6Interfaces, parseIgmpInterfaces } from '../parse/interfaces.js';
import type { InterfaceNameOf } from '../parse/sock-diag.js';

/** Far beyond any real table (~100 bytes per multicast group). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

export class InterfaceNames {
  private who: string | null = null;
  private names = new Map<number, string>();
  private readAt = Number.NEGATIVE_INFINITY;
  /** Indexes looked up since the last read and not found: they do not trigger another read. */
  private missed = new Set<number>();

  constructor(
    private readonly procRoot = '/proc',
    private readonly maxAgeMs = 5_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A resolver for the namespace of `who` (`self` or a pid), as parseInetDiagDump takes it. */
  resolverFor(who: string): InterfaceNameOf {
    return (index) => this.lookup(who, index);
  }

  /** How many times the table has been read (for tests of the cache). */
  reads = 0;

  private lookup(who: string, index: number): string | null {
    if (who !== this.who) {
      this.who = who;
      this.readAt = Number.NEGATIVE_INFINITY;
    }
    const unknown = !this.names.has(index) && !this.missed.has(index);
    if (unknown || this.now() - this.readAt > this.maxAgeMs) this.read(who);
    const name = this.names.get(index);
    if (name === undefined) this.missed.add(index);
    return name ?? null;
  }

  private read(who: string): void {
    const names = new Map<number, string>();
    for (const [file, parse] of [
      ['igmp6', parseIgmp6Interfaces],
      ['igmp', parseIgmpInterfaces],
    ] as const) {
      // A missing file (IPv6 or IPv4 disabled) leaves the other to name the interfaces.
      const text = readBounded(`${this.procRoot}/${who}/net/${file}`, MAX_FILE_BYTES);
      if (text !== null) parse(text.toString('utf8'), names);
    }
    this.reads++;
    this.names = names;
    this.missed = new Set();
    this.readAt = this.now();
  }
}
