/**
 * The forwards now, kept from a forwarder's events alone (forward adds, unforward removes):
 * what `/api/forwards` and serve's page show. It follows whatever emits the events — one
 * forwarder, or the relay of a container's forwarders that come and go with its restarts —
 * so it never reaches into a forwarder.
 */
import { EventEmitter } from 'node:events';
import type { ForwarderEvents } from './forwarder.js';
import { forwardView, type ForwardErrorEvent, type ForwardView, type UnforwardEvent } from './events.js';

export interface ForwardRegistryEvents {
  /** A forward started (or was replaced on the same target port). */
  added: [ForwardView];
  removed: [UnforwardEvent];
  /** A forward could not be made or failed; the others go on. */
  failed: [ForwardErrorEvent];
}

export class ForwardRegistry extends EventEmitter<ForwardRegistryEvents> {
  private readonly byPort = new Map<number, ForwardView>();
  private readonly detachers: (() => void)[] = [];

  /** Starts following a forwarder's events (call before it can emit: right after it is made). */
  follow(source: EventEmitter<ForwarderEvents>): void {
    const onForward = (e: ForwarderEvents['forward'][0]): void => {
      const view = forwardView(e);
      this.byPort.set(view.remote.port, view);
      this.emit('added', view);
    };
    const onUnforward = (e: UnforwardEvent): void => {
      // An unforward names the host port it closed: a newer forward of the same target port stays.
      const known = this.byPort.get(e.remote.port);
      if (known === undefined || known.local[0]?.port !== e.local[0]?.port) return;
      this.byPort.delete(e.remote.port);
      this.emit('removed', e);
    };
    const onError = (e: ForwardErrorEvent): void => void this.emit('failed', e);
    source.on('forward', onForward);
    source.on('unforward', onUnforward);
    source.on('error', onError);
    this.detachers.push(() => {
      source.off('forward', onForward);
      source.off('unforward', onUnforward);
      source.off('error', onError);
    });
  }

  /** Every forward now, by target port. */
  list(): ForwardView[] {
    return [...this.byPort.values()].sort((a, b) => a.remote.port - b.remote.port);
  }

  get(remotePort: number): ForwardView | undefined {
    return this.byPort.get(remotePort);
  }

  /** Stops following every source. */
  close(): void {
    for (const d of this.detachers.splice(0)) d();
  }
}
