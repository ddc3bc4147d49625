/**
 * What the kernel writes about network namespaces, read as text. Pure; never throws.
 *
 * - `readlink /proc/<pid>/ns/net` is `net:[4026531840]`: the namespace's inode.
 * - /proc/self/mountinfo lists every namespace file bind-mounted somewhere (`ip netns add`
 *   under /run/netns, Docker under its exec-root, CNI under /var/run/netns): the root field
 *   is `net:[<inode>]` and the filesystem type `nsfs`. Reading it finds named namespaces
 *   whatever tool made them, without knowing their directories.
 */

/** The inode of a `net:[N]` link text as a decimal string, or null for anything else. */
export function netnsOfLink(link: string): string | null {
  if (typeof link !== 'string' || !link.startsWith('net:[') || !link.endsWith(']')) return null;
  const digits = link.slice(5, -1);
  return /^[1-9]\d{0,19}$/.test(digits) ? digits : null;
}

/** mountinfo escapes space, tab, newline and backslash in paths as `\ooo` octal. */
export function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8) & 0xff));
}

export interface NetnsMount {
  /** The namespace's inode (decimal). */
  netns: string;
  /** Where it is mounted, e.g. /run/netns/blue. */
  path: string;
}

/** Beyond any real mountinfo; a longer text is not read further. */
const MAX_TEXT = 16 * 1024 * 1024;

/**
 * Network namespaces bind-mounted somewhere, from the text of /proc/self/mountinfo, in the
 * order listed. Lines that are not nsfs mounts of a network namespace are skipped.
 * (Format: `id parent major:minor root mountpoint options [optional…] - fstype source super`.)
 */
export function nsfsNetMounts(mountinfo: string): NetnsMount[] {
  if (typeof mountinfo !== 'string') return [];
  const text = mountinfo.length > MAX_TEXT ? mountinfo.slice(0, MAX_TEXT) : mountinfo;
  const mounts: NetnsMount[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes(' nsfs ')) continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields[dash + 1] !== 'nsfs') continue;
    const netns = netnsOfLink(fields[3] ?? '');
    const path = fields[4];
    if (netns === null || path === undefined || !path.startsWith('/')) continue;
    mounts.push({ netns, path: unescapeMountPath(path) });
  }
  return mounts;
}

const INUSE = Buffer.from('inuse ');

/**
 * The per-namespace socket counts of /proc/<pid>/net/sockstat (or sockstat6): every
 * `inuse N` in order (TCP, UDP, UDPLITE, RAW, FRAG), written to `out` from index `at`;
 * returns the index after the last. They change when a TCP socket enters or leaves the hash
 * (listen(), connections) or a UDP socket is bound or closed, in that namespace only (`alloc`
 * and `mem` are host-wide and are left out). Equal counts do not prove nothing changed (one
 * listener closed, another opened): a hint, not the truth. Works on the bytes, with no
 * string built: it runs for every namespace on every sweep.
 */
export function readInuse(bytes: Uint8Array, length: number, out: number[], at: number): number {
  const end = Math.min(length, bytes.length);
  let i = 0;
  while (i < end) {
    const found = indexOf(bytes, i, end);
    if (found < 0) break;
    let j = found + INUSE.length;
    let n = 0;
    let digits = 0;
    while (j < end && digits < 15 && bytes[j]! >= 48 && bytes[j]! <= 57) {
      n = n * 10 + (bytes[j]! - 48);
      j++;
      digits++;
    }
    if (digits > 0) out[at++] = n;
    i = j;
  }
  return at;
}

function indexOf(bytes: Uint8Array, from: number, end: number): number {
  outer: for (let i = from; i + INUSE.length <= end; i++) {
    for (let k = 0; k < INUSE.length; k++) if (bytes[i + k] !== INUSE[k]) continue outer;
    return i;
  }
  return -1;
}

/**
 * `nr_threads last_pid` from /proc/loadavg (`0.52 0.58 0.59 3/155 31006`), or null. While
 * neither changes, no task was created in our pid namespace (every new task, in it or in a
 * namespace below it, takes a pid here and moves last_pid) and, most likely, none ended.
 */
export function loadavgStamp(text: string): string | null {
  if (typeof text !== 'string') return null;
  const m = /^\S+ \S+ \S+ \d+\/(\d+) (\d+)\s*$/.exec(text.slice(0, 256));
  return m === null ? null : `${m[1]} ${m[2]}`;
}
