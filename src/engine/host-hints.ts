/**
 * Kernel hints (tracefs) for host mode, placed in namespaces. Taking a hint is O(1); each step
 * places the pending ones, each task once: its namespace is read now (a task that is gone no
 * longer tells), a close whose task is gone is looked for in the namespaces that had that
 * port, and anything else that cannot be placed (or a burst too big to keep) asks for every
 * namespace to be probed.
 */
import type { Hint } from '../triggers/trigger.js';
import type { HostScanner } from './host-scanner.js';

/** Hints kept between two steps; more at once (a burst) probe every namespace instead. */
const MAX_HINTS = 256;
/** Distinct tasks named by the hints of one step: the likely owners of what opened. */
const MAX_LIKELY = 64;

export interface Placed {
  /** Namespaces to read. */
  read: Set<string>;
  /** Namespaces first held now (a task in a namespace no refresh had seen yet). */
  opened: string[];
  /** Tasks the hints named: read first when looking for owners. */
  likely: number[];
  /** Some hint could not be placed: probe every namespace. */
  everywhere: boolean;
}

export class HintQueue {
  private readonly hints: Hint[] = [];
  private overflowed = false;

  push(hint: Hint): void {
    if (this.hints.length < MAX_HINTS) this.hints.push(hint);
    else this.overflowed = true;
  }

  /** Places and forgets the pending hints. */
  place(scanner: Pick<HostScanner, 'taskNamespace' | 'namespacesWithPort'>): Placed {
    const out: Placed = { read: new Set(), opened: [], likely: [], everywhere: this.overflowed };
    this.overflowed = false;
    const likely = new Set<number>();
    const placed = new Map<number, string | null>();
    for (const hint of this.hints.splice(0)) {
      let netns: string | null = null;
      if (hint.tid !== undefined) {
        if (likely.size < MAX_LIKELY) likely.add(hint.tid);
        if (!placed.has(hint.tid)) {
          const at = scanner.taskNamespace(hint.tid);
          if (at?.opened) out.opened.push(at.netns);
          placed.set(hint.tid, at?.netns ?? null);
        }
        netns = placed.get(hint.tid) ?? null;
      }
      if (netns !== null) out.read.add(netns);
      else if (hint.kind === 'unlisten' && hint.port !== undefined) {
        for (const n of scanner.namespacesWithPort('tcp', hint.port)) out.read.add(n);
      } else out.everywhere = true;
    }
    out.likely = [...likely];
    return out;
  }
}
