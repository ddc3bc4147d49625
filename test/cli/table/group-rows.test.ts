import { describe, expect, it } from 'vitest';
import { renderTable } from '../../../src/cli/table/columns.js';
import { groupRows, rowAddresses, rowEndpoint, rowProto } from '../../../src/cli/table/group-rows.js';
import type { Listener } from '../../../src/listener.js';
import { listener, proc } from '../../rules/make-listener.js';

const server = proc({ pid: 10, name: 'node', command: 'node server.js' });
const v4 = listener({ port: 8080, address: '127.0.0.1', inode: 1, process: server });
const v6 = listener({ port: 8080, family: 6, address: '::1', inode: 2, process: server });
const plain = { color: false, width: undefined };

describe('groupRows', () => {
  it('one process on one port over both families is one row, listing both addresses', () => {
    const rows = groupRows([v4, v6]);
    expect(rows).toHaveLength(1);
    expect(rowProto(rows[0]!)).toBe('tcp46');
    expect(rowEndpoint(rows[0]!)).toBe('127.0.0.1,[::1]:8080');
    expect(rowAddresses(rows[0]!)).toBe('127.0.0.1,::1');
  });

  it('--no-group: one row per socket', () => {
    expect(groupRows([v4, v6], { group: false }).map((r) => rowEndpoint(r))).toEqual(['127.0.0.1:8080', '[::1]:8080']);
  });

  it.each<[string, Partial<Listener>]>([
    ['another process', { process: proc({ pid: 11 }) }],
    ['another port', { port: 8081 }],
    ['another protocol', { protocol: 'udp' }],
    ['another socket uid', { uid: 0 }],
    ['another network namespace', { netns: '1' }],
  ])('%s is another row', (_, change) => {
    expect(groupRows([v4, { ...v6, ...change }])).toHaveLength(2);
  });

  it('sockets whose owner is unknown are never joined: nothing says they are one server', () => {
    expect(
      groupRows([
        { ...v4, process: null },
        { ...v6, process: null },
      ]),
    ).toHaveLength(2);
  });

  it('sockets with different labels stay apart; a row has its sockets’ label', () => {
    const label = (l: Listener): string | null => (l.family === 6 ? 'six' : null);
    expect(groupRows([v4, v6], { labelOf: label }).map((r) => r.label)).toEqual([null, 'six']);
    expect(groupRows([v4, v6], { labelOf: () => 'app' }).map((r) => r.label)).toEqual(['app']);
  });

  it('a row takes the place of its first socket; the same address twice (SO_REUSEPORT) is shown once', () => {
    const other = listener({ port: 9000, inode: 3, process: proc({ pid: 12 }) });
    const again = { ...v4, inode: 4 };
    const rows = groupRows([v4, other, v6, again]);
    expect(rows.map((r) => rowEndpoint(r))).toEqual(['127.0.0.1,[::1]:8080', '127.0.0.1:9000']);
    expect(rows[0]?.listeners).toHaveLength(3);
  });

  it('devices and wildcards are written as addresses are: 0.0.0.0%lo,[::]:53', () => {
    const a = listener({ protocol: 'udp', port: 53, address: '0.0.0.0', interface: 'lo', process: server });
    const b = listener({ protocol: 'udp', port: 53, family: 6, address: '::', inode: 9, process: server });
    const [row] = groupRows([a, b]);
    expect(rowEndpoint(row!)).toBe('0.0.0.0%lo,[::]:53');
    expect(rowProto(row!)).toBe('udp46');
  });
});

describe('renderTable', () => {
  it('PROTO ADDRESS:PORT PID USER PROCESS COMMAND, LABEL when a row has one', () => {
    const names = (uid: number): string => (uid === 1000 ? 'dev' : String(uid));
    expect(renderTable(groupRows([v4, v6]), plain, names).split('\n')).toEqual([
      'PROTO  ADDRESS:PORT          PID  USER  PROCESS  COMMAND',
      'tcp46  127.0.0.1,[::1]:8080  10   dev   node     node server.js',
    ]);
    const labelled = renderTable(groupRows([v4], { labelOf: () => 'web app' }), plain);
    expect(labelled.split('\n')).toEqual([
      'PROTO  ADDRESS:PORT    PID  USER  PROCESS  LABEL    COMMAND',
      'tcp    127.0.0.1:8080  10   1000  node     web app  node server.js',
    ]);
  });

  it('a user name from a file is escaped like every other cell', () => {
    expect(renderTable(groupRows([v4]), plain, () => 'ev\u001bil').split('\n')[1]).toContain(' ev\\x1bil ');
  });
});
