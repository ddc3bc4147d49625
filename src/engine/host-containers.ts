/**
 * Which container a listener lives in, for host mode.
 *
 * - Owner known: the container of the owning process (its cgroup). A process on the host
 *   that holds a socket in a container's namespace (nsenter) is on the host: null.
 * - Owner unknown (another user's process without root, another pid namespace): the
 *   container of the namespace, but only when every process in it whose cgroup we can read is
 *   in one and the same container. Containers can share a namespace (a Kubernetes pod's
 *   containers with their pause container, `docker run --network container:X`), and then the
 *   socket could belong to any of them: null, never a guess.
 */
import type { CgroupContainer } from '../containers/cgroup-container.js';
import type { Listener, ListenerContainer } from '../listener.js';
import { soleContainer } from './container-identity.js';
import type { ContainerIndex } from './container-index.js';
import type { Space } from './host-space.js';
import type { NamespaceInventory } from './namespace-inventory.js';

function* cgroupsOf(pids: readonly number[], index: ContainerIndex): Generator<CgroupContainer | null> {
  for (const pid of pids) yield index.ofProcess(pid);
}

export class HostContainers {
  /** Bumped on every inventory refresh: a namespace's sole container is worked out once per generation. */
  generation = 0;

  constructor(
    readonly index: ContainerIndex | null,
    private readonly inventory: NamespaceInventory,
    private readonly waitMs: number,
  ) {}

  /** The cgroup container a listener is in (see above), or null. */
  cgroupOf(l: Listener, space: Space): CgroupContainer | null {
    if (this.index === null) return null;
    if (l.process !== null) return this.index.ofProcess(l.process.pid);
    return this.soleOf(space);
  }

  /** The container of every process in the namespace, or null. */
  soleOf(space: Space): CgroupContainer | null {
    const index = this.index;
    if (index === null) return null;
    if (space.soleAt !== this.generation) {
      const members = this.inventory.membersOf(space.netns);
      // No process left (a namespace going away): keep what was known.
      // Read lazily: the first process on the host (or in a second container) settles it.
      if (members.length > 0 || space.soleAt < 0) space.soleCgroup = soleContainer(cgroupsOf(members, index));
      space.soleAt = this.generation;
    }
    return space.soleCgroup;
  }

  /** The `container` of a listener: the same object while nothing known about it changes. */
  of(l: Listener, space: Space): ListenerContainer | null {
    const cg = this.cgroupOf(l, space);
    return cg === null || this.index === null ? null : this.index.describe(cg);
  }

  /** The namespace's container as a listener would carry it. */
  ofSpace(space: Space): ListenerContainer | null {
    const cg = this.soleOf(space);
    return cg === null || this.index === null ? null : this.index.describe(cg);
  }

  /** Asks the engine about the containers of listeners not seen before, waiting at most waitMs. */
  async nameNew(reads: readonly { space: Space; bases: readonly Listener[] }[]): Promise<void> {
    if (this.index === null) return;
    const wanted: CgroupContainer[] = [];
    for (const { space, bases } of reads) {
      for (const l of bases) {
        if (!space.isNew(l)) continue;
        const cg = this.cgroupOf(l, space);
        if (cg !== null) wanted.push(cg);
      }
    }
    if (wanted.length > 0) await this.index.lookUp(wanted, this.waitMs);
  }
}
