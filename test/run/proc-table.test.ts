import { describe, expect, it } from 'vitest';
import { parseProcStat } from '../../src/parse/proc-pid.js';
import { procFs } from '../../src/proc/proc-fs.js';
import { readProcEntry, readProcTable } from '../../src/run/proc-table.js';

// A real line from proc(5)'s layout, with a name that holds spaces and parentheses.
const stat = (name: string, state = 'S'): string =>
  `4242 (${name}) ${state} 4200 4100 4100 0 -1 4194560 1234 0 0 0 10 3 0 0 20 0 11 0 987654 1130496000 12345 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 17 1 0 0 0 0 0`;

describe('parseProcStat', () => {
  it('reads state, parent, process group, start time and name', () => {
    expect(parseProcStat(4242, stat('node'))).toEqual({ pid: 4242, ppid: 4200, pgid: 4100, startTime: '987654', state: 'S', name: 'node' });
  });

  it('counts fields after the last parenthesis: a name cannot shift them', () => {
    expect(parseProcStat(4242, stat('a) Z 1 1 (b', 'R'))).toMatchObject({ name: 'a) Z 1 1 (b', state: 'R', ppid: 4200, pgid: 4100 });
  });

  it('null on anything unexpected', () => {
    expect(parseProcStat(1, '')).toBeNull();
    expect(parseProcStat(1, '1 (x) S 0')).toBeNull();
    expect(parseProcStat(1, '1 x S 0 1 1')).toBeNull();
    expect(parseProcStat(1, stat('x').replace(' 4100 4100 ', ' - 4100 '))).toBeNull();
  });
});

describe('readProcTable', () => {
  it('holds this process, as readProcEntry reads it', () => {
    const me = readProcTable().find((e) => e.pid === process.pid);
    expect(me).toEqual(readProcEntry(process.pid));
    expect(me).toMatchObject({ ppid: process.ppid, name: expect.any(String) });
  });

  it('is empty for a root that does not exist; an entry is null for a pid that does not', () => {
    expect(readProcTable(procFs('/nonexistent-proc'))).toEqual([]);
    expect(readProcEntry(2 ** 22 + 1)).toBeNull();
  });
});
