/**
 * Which container a process lives in, from the text of /proc/PID/cgroup alone: no engine,
 * no privileges, cgroup v1 and v2, systemd and cgroupfs drivers. Pure; never throws.
 *
 * Every runtime writes the container id into the cgroup path, each in its own shape:
 *
 *   docker, cgroupfs driver        /docker/<id>
 *   docker, systemd driver         /system.slice/docker-<id>.scope
 *   podman                         /machine.slice/libpod-<id>.scope[/container],
 *                                  /user.slice/…/user@1000.service/user.slice/libpod-<id>.scope,
 *                                  /libpod_parent/libpod-<id> (cgroupfs)
 *   containerd (nerdctl)           /system.slice/nerdctl-<id>.scope
 *   Kubernetes, cgroupfs           /kubepods/<qos>/pod<uid>/<id>   (engine not named: 'kubernetes')
 *   Kubernetes, systemd            /kubepods.slice/…/kubepods-<qos>-pod<uid_>.slice/cri-containerd-<id>.scope
 *                                  (crio-<id>.scope for CRI-O, docker-<id>.scope for dockershim)
 *   Kubernetes, mixed drivers      /kubepods-<qos>-pod<uid_>.slice:cri-containerd:<id> (one directory)
 *
 * Shapes are recognised, never guessed: a 64-hex directory under an unknown parent (a custom
 * --cgroup-parent, a sibling seen through a cgroup namespace as `/../<id>`), conmon's own
 * cgroup (`libpod-conmon-<id>.scope`), LXC and nspawn machines (names, not ids) all give null.
 * In a nested path (docker in docker, kind) the innermost container is the answer: it is the
 * one the process is in. v1 lines that name different containers give null.
 */

export type CgroupRuntime = 'docker' | 'podman' | 'containerd' | 'cri-o' | 'kubernetes';

export interface CgroupContainer {
  /** The 64-hex id the runtime knows the container by. */
  id: string;
  /**
   * The engine, when the path names it; 'kubernetes' for a pod's container whose path
   * (cgroupfs driver) does not say which engine runs it.
   */
  runtime: CgroupRuntime;
  /** The Kubernetes pod UID (with dashes) when the container belongs to a pod; null otherwise. */
  podUid: string | null;
}

/** A real /proc/PID/cgroup is under 2 KiB; beyond this the text is not one. */
const MAX_TEXT = 64 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;

/** One path component that holds the id, e.g. `docker-<id>.scope`. */
const SCOPES: ReadonlyArray<readonly [RegExp, CgroupRuntime]> = [
  [/^docker-([0-9a-f]{64})\.scope$/, 'docker'],
  [/^libpod-([0-9a-f]{64})(?:\.scope)?$/, 'podman'],
  [/^cri-containerd-([0-9a-f]{64})\.scope$/, 'containerd'],
  [/^crio-([0-9a-f]{64})(?:\.scope)?$/, 'cri-o'],
  [/^nerdctl-([0-9a-f]{64})\.scope$/, 'containerd'],
];

/** The middle part of `<pod slice>:<prefix>:<id>` (a systemd cgroupsPath used as a directory name). */
const COLON_PREFIXES: Readonly<Record<string, CgroupRuntime>> = { 'cri-containerd': 'containerd', crio: 'cri-o', docker: 'docker' };

const UID_DASHED = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const UID_UNDERSCORED = '[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}';
/** Static pods' UIDs are a 32-hex hash. */
const UID_HASH = '[0-9a-f]{32}';
/** cgroupfs driver: `pod<uid>` (below a `kubepods` directory). */
const POD_DIR = new RegExp(`^pod(${UID_DASHED}|${UID_HASH})$`);
/** systemd driver: `kubepods-burstable-pod<uid_>.slice`, `kubelet-kubepods-pod<uid_>.slice` (kind). */
const POD_SLICE = new RegExp(`^(?:[a-z0-9]+-)*kubepods(?:-besteffort|-burstable)?-pod(${UID_UNDERSCORED}|${UID_HASH})\\.slice$`);

interface Match {
  id: string;
  runtime: CgroupRuntime;
  /** Index of the component that named the id. */
  at: number;
}

/** The container named by one path component, given the components above it. */
function matchComponent(parts: readonly string[], i: number): Match | null {
  const part = parts[i]!;
  for (const [re, runtime] of SCOPES) {
    const m = re.exec(part);
    if (m) return { id: m[1]!, runtime, at: i };
  }
  const colon = part.split(':');
  if (colon.length === 3 && POD_SLICE.test(colon[0]!) && HEX64.test(colon[2]!)) {
    const runtime = COLON_PREFIXES[colon[1]!];
    if (runtime !== undefined) return { id: colon[2]!, runtime, at: i };
  }
  if (!HEX64.test(part) || i === 0) return null;
  const parent = parts[i - 1]!;
  if (parent === 'docker') return { id: part, runtime: 'docker', at: i };
  if (POD_DIR.test(parent) && parts.slice(0, i - 1).includes('kubepods')) return { id: part, runtime: 'kubernetes', at: i };
  return null;
}

/** The pod UID of the container named at `at`: its own component (colon form) or an ancestor's. */
function podUidAt(parts: readonly string[], at: number): string | null {
  for (let i = at; i >= 0; i--) {
    const part = parts[i]!;
    const slice = POD_SLICE.exec(i === at ? part.split(':')[0]! : part);
    if (slice) return slice[1]!.replaceAll('_', '-');
    const dir = i < at ? POD_DIR.exec(part) : null;
    if (dir && parts.slice(0, i).includes('kubepods')) return dir[1]!;
  }
  return null;
}

/** The innermost container in one cgroup path, or null. */
export function containerOfCgroupPath(path: string): CgroupContainer | null {
  if (!path.startsWith('/')) return null;
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  for (let i = parts.length - 1; i >= 0; i--) {
    const m = matchComponent(parts, i);
    if (m) return { id: m.id, runtime: m.runtime, podUid: podUidAt(parts, m.at) };
  }
  return null;
}

/** The cgroup paths of a /proc/PID/cgroup text (`ID:controllers:path`, v1 and v2 lines). */
export function cgroupPaths(text: string): string[] {
  const paths: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:[^:]*:(\/.*)$/.exec(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (m) paths.push(m[1]!);
  }
  return paths;
}

/** Two lines that name the same container, one of them more precisely: the precise one. */
function merge(a: CgroupContainer, b: CgroupContainer): CgroupContainer | null {
  if (a.id !== b.id) return null;
  if (a.podUid !== null && b.podUid !== null && a.podUid !== b.podUid) return null;
  let runtime = a.runtime;
  if (a.runtime !== b.runtime) {
    if (a.runtime !== 'kubernetes' && b.runtime !== 'kubernetes') return null;
    runtime = a.runtime === 'kubernetes' ? b.runtime : a.runtime;
  }
  return { id: a.id, runtime, podUid: a.podUid ?? b.podUid };
}

/**
 * The container of the process whose /proc/PID/cgroup reads `text`, or null: on the host,
 * in a cgroup no runtime shape matches, or when lines disagree.
 */
export function parseCgroupContainer(text: string): CgroupContainer | null {
  if (typeof text !== 'string' || text.length > MAX_TEXT) return null;
  let found: CgroupContainer | null = null;
  for (const path of cgroupPaths(text)) {
    const c = containerOfCgroupPath(path);
    if (c === null) continue;
    if (found === null) found = c;
    else if ((found = merge(found, c)) === null) return null;
  }
  return found;
}
