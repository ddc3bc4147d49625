import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProcNetSource } from '../../src/sources/proc-net.js';

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

describe('procfs source reading', () => {
  it('reads every LISTEN row across many pages', async () => {
    const sockets = await createProcNetSource(fakeProc(300, 0)).scan({});
    expect(sockets.map((s) => s.port)).toEqual(Array.from({ length: 300 }, (_, i) => 1000 + i));
  });

  it('stops reading TCP at the page holding the first non-LISTEN row', async () => {
    const sockets = await createProcNetSource(fakeProc(100, 300)).scan({});
    const ports = new Set(sockets.map((s) => s.port));
    for (let i = 0; i < 100; i++) expect(ports.has(1000 + i)).toBe(true);
    // Rows on later pages are never read (the kernel never puts LISTEN rows there; this file does, to prove the stop).
    expect(sockets.length).toBeLessThan(100 + 60);
  });
});
