/**
 * The owner search, run once off the clock. V8 compiles a function the first time it runs,
 * so the first listener that opens after a watcher started paid for compiling the targeted
 * search (the named process's fd table, its family, its command line): 1–2 ms more on that
 * one event, measured on `wait`, which answers that one event only. Running the same search
 * once, on a socket of this process and through a resolver of its own, compiles it while the
 * watcher is idle. Nothing it finds is kept, and it runs once per process however many
 * watchers ask.
 */
import { procFs } from '../proc/proc-fs.js';
import { socketInode } from './holders.js';
import { ownershipsOf } from './ownership.js';
import { SocketOwners } from './socket-owners.js';

/** The inode of one of this process's sockets (a netlink socket, an IPC channel…), or null. */
function ownSocketInode(procRoot: string): number | null {
  const proc = procFs(procRoot);
  for (const fd of proc.fds(process.pid) ?? []) {
    const link = proc.fd(process.pid, fd); // null: closed since the listing
    const inode = link === null ? null : socketInode(link);
    if (inode !== null) return inode;
  }
  return null;
}

async function search(procRoot: string): Promise<boolean> {
  const inode = ownSocketInode(procRoot);
  if (inode === null) return false;
  // A socket that closed meanwhile must not become a walk over every process: give up instead.
  const stillListening = (): Promise<Set<number>> => Promise.resolve(new Set());
  const found = await new SocketOwners(procRoot).resolve([inode], { likely: [process.pid], stillListening });
  const ownership = ownershipsOf(found).get(inode);
  return ownership?.holders.some((h) => h.pid === process.pid) ?? false;
}

const searches = new Map<string, Promise<boolean>>();

/**
 * Looks for the owner of one of this process's own sockets, naming this process as the one a
 * kernel event would have named; once per process (per procRoot), later calls share the
 * answer. True when the search found this process (it ran end to end); false when this
 * process has no socket or /proc could not be read.
 */
export function warmUpOwnerSearch(procRoot = '/proc'): Promise<boolean> {
  let done = searches.get(procRoot);
  if (done === undefined) {
    done = search(procRoot).catch(() => false);
    searches.set(procRoot, done);
  }
  return done;
}
