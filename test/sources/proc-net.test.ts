import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProcNetSource, tcpListenersComeFirst } from '../../src/sources/proc-net.js';
import { fixture } from '../helpers/fixtures.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (i: number, state: string, remote = '00000000:0000'): string =>
  `${String(i).padStart(4)}: 0100007F:${(1000 + i).toString(16).toUpperCase().padStart(4, '0')} ${remote} ${state} 00000000:00000000 00:00000000 00000000     0        0 ${50_000 + i} 1 0000000000000000 100 0 0 10 0`;

/** A /proc root whose self/net/tcp has `before` LISTEN rows, one ESTABLISHED row, then `after` LISTEN-looking rows. */
function fakeProc(before: number, after: number): string {
  const root = mkdtempSync(join(tmpdir(), 'portwatch-proc-'));
  roots.push(root);
  mkdirSync(join(root, 'self', 'net'), { recursive: true });
  const rows = [HEADER];
  for (let i = 0; i < before; i++) rows.push(row(i, '0A'));
  rows.push(row(before, '01', '0100007F:9C40'));
  for (let i = before + 1; i <= before + after; i++) rows.push(row(i, '0A'));
  writeFileSync(join(root, 'self', 'net', 'tcp'), `${rows.join('\n')}\n`);
  writeFileSync(join(root, 'self', 'net', 'udp'), `${HEADER}\n`);
  return root; // no tcp6/udp6: IPv6 disabled, which must not be an error
}

/** A /proc root whose self/net/tcp is the given text. */
function procWithTcp(tcp: string): string {
  const root = mkdtempSync(join(tmpdir(), 'portwatch-proc-'));
  roots.push(root);
  mkdirSync(join(root, 'self', 'net'), { recursive: true });
  writeFileSync(join(root, 'self', 'net', 'tcp'), tcp);
  writeFileSync(join(root, 'self', 'net', 'udp'), `${HEADER}\n`);
  return root;
}

const CURRENT_KERNEL = '6.18.44-fc-v1045';

describe('procfs source reading', () => {
  it('reads every LISTEN row across many pages', async () => {
    const sockets = await createProcNetSource(fakeProc(300, 0), CURRENT_KERNEL).scan({});
    expect(sockets.map((s) => s.port)).toEqual(Array.from({ length: 300 }, (_, i) => 1000 + i));
  });

  it('stops reading TCP at the page holding the first non-LISTEN row', async () => {
    const sockets = await createProcNetSource(fakeProc(100, 300), CURRENT_KERNEL).scan({});
    const ports = new Set(sockets.map((s) => s.port));
    for (let i = 0; i < 100; i++) expect(ports.has(1000 + i)).toBe(true);
    // Rows on later pages are never read (the kernel never puts LISTEN rows there; this file does, to prove the stop).
    expect(sockets.length).toBeLessThan(100 + 60);
  });
});

describe('procfs source on kernels that print pending requests among listeners', () => {
  // Linux < 4.4 prints each listener's SYN_RECV requests (state 03) right after it: the
  // first non-LISTEN row then comes long before the last listener.
  const before44 = fixture('proc-net/tcp-before-4.4');

  it('reads the whole file on a kernel before 4.4, and finds all 60 listeners', async () => {
    for (const release of ['4.3.0', '3.10.0-1160.el7.x86_64', '2.6.32-754.el6.x86_64']) {
      const sockets = await createProcNetSource(procWithTcp(before44), release).scan({});
      expect(sockets, release).toHaveLength(60);
    }
  });

  it('reads the whole file when the release cannot be read', async () => {
    expect(await createProcNetSource(procWithTcp(before44), 'unknown').scan({})).toHaveLength(60);
  });

  it('stops early from 4.4 on, where the kernel puts every listener first', async () => {
    // The same file on a 4.4+ kernel would be wrong, which is how the test sees the stop.
    for (const release of ['4.4.0-21-generic', '5.15.0', CURRENT_KERNEL]) {
      const sockets = await createProcNetSource(procWithTcp(before44), release).scan({});
      expect(sockets.length, release).toBeLessThan(60);
    }
  });

  it('decides by major and minor number', () => {
    expect(tcpListenersComeFirst('4.4.0')).toBe(true);
    expect(tcpListenersComeFirst('4.10.1')).toBe(true);
    expect(tcpListenersComeFirst('10.0.0')).toBe(true);
    expect(tcpListenersComeFirst('4.3.99')).toBe(false);
    expect(tcpListenersComeFirst('3.19.0')).toBe(false);
    expect(tcpListenersComeFirst('')).toBe(false);
    expect(tcpListenersComeFirst('linux')).toBe(false);
  });
});
