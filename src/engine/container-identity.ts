/**
 * What a listener's `container` says, from what the cgroup path and the engine told. Pure.
 *
 * The id and runtime come from the owning process's cgroup (no engine needed); the name,
 * image, pod and namespace only from the engine (Docker or Podman's API), and are null when
 * it did not answer. Nothing is guessed.
 */
import type { CgroupContainer } from '../containers/cgroup-container.js';
import type { ListenerContainer } from '../listener.js';

/** What an engine said about a container (inspect or list). */
export interface EngineFacts {
  name: string;
  image: string;
  labels: Record<string, string>;
}

export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

/** The `container` of a listener in `cgroup`'s container, with what the engine said (or null). */
export function listenerContainer(cgroup: CgroupContainer, facts: EngineFacts | null): ListenerContainer {
  return {
    id: cgroup.id,
    name: nonEmpty(facts?.name),
    runtime: cgroup.runtime,
    image: nonEmpty(facts?.image),
    pod: nonEmpty(facts?.labels[POD_NAME_LABEL]),
    namespace: nonEmpty(facts?.labels[POD_NAMESPACE_LABEL]),
  };
}

/** Can a Docker-compatible engine (Docker, Podman) know this container? containerd and CRI-O have no such API. */
export function engineMayKnow(cgroup: CgroupContainer): boolean {
  return cgroup.runtime === 'docker' || cgroup.runtime === 'podman' || cgroup.runtime === 'kubernetes';
}

/**
 * The one container every process of a namespace is in, or null. Processes whose cgroup
 * could not be read (`undefined`) say nothing; a process on the host (null) or in another
 * container makes the answer null: a Kubernetes pod's containers, or `docker run
 * --network container:X`, share one network namespace, and a socket whose owner is unknown
 * could belong to any of them.
 */
export function soleContainer(members: Iterable<CgroupContainer | null | undefined>): CgroupContainer | null {
  let found: CgroupContainer | null = null;
  for (const c of members) {
    if (c === undefined) continue;
    if (c === null) return null;
    if (found === null) found = c;
    else if (found.id !== c.id) return null;
  }
  return found;
}

/** How a container is written in a table: its name, else the first 12 hex digits of its id. */
export function containerLabel(c: Pick<ListenerContainer, 'id' | 'name'>): string {
  return c.name ?? c.id.slice(0, 12);
}

/**
 * Does `c` answer to `ref` as `--container` takes it: its name, its full id, or an id prefix
 * of at least 4 hex digits (as `docker` accepts an unambiguous prefix)?
 */
export function containerMatches(c: Pick<ListenerContainer, 'id' | 'name'> | null | undefined, ref: string): boolean {
  if (c === null || c === undefined || ref === '') return false;
  const name = ref.startsWith('/') ? ref.slice(1) : ref;
  if (c.name !== null && c.name === name) return true;
  return /^[0-9a-f]{4,64}$/.test(ref) && c.id.startsWith(ref);
}
