/**
 * The `procfs` source: /proc/<pid|self>/net/{tcp,tcp6,udp,udp6}, pure TypeScript.
 *
 * Cost matters here (see FACTS.md): every read() of a /proc/net file is a kernel walk
 * and returns at most about one page. TCP LISTEN rows always come first, so TCP files are
 * read page by page and reading stops at the first non-LISTEN row. UDP rows are in hash
 * order, so UDP files are read to the end. Files are opened afresh every scan (some
 * kernels refuse to seek them) and never read with readFileSync.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
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

/** Reads one /proc/net file, stopping early for TCP. A missing file (no IPv6) is empty. */
export function readProcNetFile(path: string, protocol: Protocol, family: Family, buf: Buffer, out: RawSocket[]): void {
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
      if (protocol === 'tcp' && page.sawOther) return;
    }
    for (const socket of parseProcNet(pending, protocol, family, LITTLE_ENDIAN).sockets) out.push(socket);
  } finally {
    closeSync(fd);
  }
}

export function createProcNetSource(procRoot = '/proc'): Source {
  const buf = Buffer.allocUnsafe(CHUNK);
  return {
    name: 'procfs',
    async scan(target: ScanTarget): Promise<RawSocket[]> {
      const who = target.netnsPid === undefined ? 'self' : String(target.netnsPid);
      const out: RawSocket[] = [];
      for (const { file, protocol, family } of FILES) {
        const path = `${procRoot}/${who}/net/${file}`;
        try {
          readProcNetFile(path, protocol, family, buf, out);
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
