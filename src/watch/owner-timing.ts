/**
 * Owner work a watcher does off the clock: it compiles the owner search once while its Node
 * thread is idle (owners/warm-up.ts), and it scans once more when an owner search that went
 * on past its scan ends (late-owners.ts), since that scan returns what the search found.
 */
import type { Scanner } from '../scan.js';

/**
 * A first scan still going after this long waits for an owner walk on the addon's threads:
 * the Node thread is idle, so the owner search is warmed (compiled) then, before a listener
 * that opens during the walk needs it (first-walk bench: listen → `open` ~1 ms sooner).
 */
export const WARM_UP_AFTER_MS = 10;

export class OwnerTiming {
  private warmed = false;
  /** A rescan is armed for when the owner search that goes on ends. */
  private awaiting = false;

  constructor(
    private readonly scanner: Pick<Scanner, 'warmUp' | 'ownersPending'>,
    private readonly rescan: () => void,
    private readonly closed: () => boolean,
  ) {}

  /** A scan starts: one that takes long warms up meanwhile. Call the result when it has ended. */
  scanStarting(): () => void {
    if (this.warmed) return noop;
    const soon = setTimeout(() => this.warmUp(), WARM_UP_AFTER_MS).unref();
    return () => clearTimeout(soon);
  }

  /** A scan has ended. `idle`: no scan is due. */
  scanEnded(idle: boolean): void {
    // Idle: compile the owner search before the first port opens, not after. Not while a
    // scan is due: it would wait behind this (a listener that opened meanwhile).
    if (idle && !this.warmed && !this.closed()) setImmediate(() => this.warmUp());
    const pending = this.scanner.ownersPending();
    if (pending === null || this.awaiting) return;
    this.awaiting = true;
    void pending.then(() => {
      this.awaiting = false;
      this.rescan();
    });
  }

  private warmUp(): void {
    if (this.warmed || this.closed()) return;
    this.warmed = true;
    void this.scanner.warmUp().catch(() => {});
  }
}

function noop(): void {}
