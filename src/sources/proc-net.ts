/**
 * The `procfs` source: /proc/<pid|self>/net/{tcp,tcp6,udp,udp6}, pure TypeScript.
 *
 * Cost matters here (see FACTS.md): every read() of a /proc/net file is a kernel walk
 * and returns at most about one page. Since Linux 4.4 the kernel prints the listening hash
 * (LISTEN rows only) before the established hash, so TCP files are read page by page and
 * reading stops at the first non-LISTEN row. Before 4.4 each listener was followed by its
 * pending connection requests (state 03, SYN_RECV): there, and wherever the release cannot
 * be read, TCP files are read to the end. UDP rows are in hash order, so UDP files are
 * always read to the end. Files are opened afresh every scan (some kernels refuse to seek
 * them) and never read with readFileSync.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { endianness, release } from 'node:os';
import type { Family, Protocol } from '../listener.js';
import { PortwatchError } from '../errors.js';
import { parseProcNet } from '../parse/proc-net.js';
import type { RawSocket, ScanTarget, Source } from './source.js';

const CHUNK = 4096;
const LITTLE_ENDIAN = endianness() === 'LE';

const FILES: ReadonlyArray<{ file: string; protocol: Protocol; family: Family }> = [
  { file: 'tcp', protocol: 'tcp', family: 4 },
  { file: 'tcp6', protocol: 'tcp', family: 6 },
  { file: 'udp', protocol: 'udp', family: 4 },
  { file: 'udp6', protocol: 'udp', family: 6 },
];

/**
 * Whether this kernel's /proc/net/tcp lists every LISTEN row before any other row: from
 * Linux 4.4 ("tcp/dccp: install syn_recv requests into ehash table") pending requests live
 * in the established hash; before, they were printed right after their listener.
 */
export function tcpListenersComeFirst(kernelRelease: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!m) return false;
  const major = Number(m[1]);
  return major > 4 || (major === 4 && Number(m[2]) >= 4);
}

/**
 * Reads one /proc/net file; with stopAtOther, stops after the page holding the first
 * non-listening row. A missing file (no IPv6) is empty.
 */
export function readProcNetFile(
  path: string,
  protocol: Protocol,
  family: Family,
  buf: Buffer,
  out: RawSocket[],
  stopAtOther: boolean,
): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    // No tcp6/udp6 file means IPv6 is disabled: no IPv6 listeners, not an error.
    if (family === 6 && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    let pending = '';
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      pending += buf.toString('latin1', 0, n);
      const lastNl = pending.lastIndexOf('\n');
      if (lastNl < 0) continue;
      const page = parseProcNet(pending.slice(0, lastNl), protocol, family, LITTLE_ENDIAN);
      pending = pending.slice(lastNl + 1);
      for (const socket of page.sockets) out.push(socket);
      // LISTEN rows all come before the first other row: the rest of the file is not needed.
      if (stopAtOther && page.sawOther) return;
    }
    for (const socket of parseProcNet(pending, protocol, family, LITTLE_ENDIAN).sockets) out.push(socket);
  } finally {
    closeSync(fd);
  }
}

/** `kernelRelease` (os.release() by default) decides whether TCP files may be cut short. */
export function createProcNetSource(procRoot = '/proc', kernelRelease: string = release()): Source {
  const buf = Buffer.allocUnsafe(CHUNK);
  const tcpStopsEarly = tcpListenersComeFirst(kernelRelease);
  return {
    name: 'procfs',
    async scan(target: ScanTarget): Promise<RawSocket[]> {
      const who = target.netnsPid === undefined ? 'self' : String(target.netnsPid);
      const out: RawSocket[] = [];
      for (const { file, protocol, family } of FILES) {
        const path = `${procRoot}/${who}/net/${file}`;
        try {
          readProcNetFile(path, protocol, family, buf, out, protocol === 'tcp' && tcpStopsEarly);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (target.netnsPid !== undefined && (code === 'ENOENT' || code === 'ESRCH')) {
            throw new PortwatchError('ENOPROCESS', `no process with pid ${target.netnsPid} (it may have exited)`, { cause: e });
          }
          throw new PortwatchError('ESCAN', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
        }
      }
      return out;
    },
  };
}
