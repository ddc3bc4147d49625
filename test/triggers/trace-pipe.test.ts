import { describe, expect, it } from 'vitest';
import { LineSplitter, parseTraceLine } from '../../src/triggers/trace-pipe.js';

// Lines as trace_pipe printed them (kernel 6.18).
const LISTEN =
  '           <...>-14024   [001] .....   334.614277: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=35791 dport=0 saddr=127.0.0.1 daddr=0.0.0.0 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:0.0.0.0 oldstate=TCP_CLOSE newstate=TCP_LISTEN';
const UNLISTEN =
  '            node-14024   [001] .....   334.729025: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=35791 dport=0 saddr=127.0.0.1 daddr=0.0.0.0 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:0.0.0.0 oldstate=TCP_LISTEN newstate=TCP_CLOSE';
const SYN_RECV =
  '            node-14024   [001] .....   334.729025: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=8080 dport=51000 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=::1 daddrv6=::1 oldstate=TCP_LISTEN newstate=TCP_SYN_RECV';
const BIND = '           <...>-19054   [001] .....   558.036941: sys_bind -> 0x0';
const MARKER = '            node-19054   [001] ...1.   558.132802: tracing_mark_write: portwatch: closing';
const LOST = 'CPU:1 [LOST 1234 EVENTS]';

describe('parseTraceLine', () => {
  it('names a socket entering LISTEN and a listener closing, with the port', () => {
    expect(parseTraceLine(LISTEN)).toEqual({ kind: 'listen', port: 35791, tid: 14024 });
    expect(parseTraceLine(UNLISTEN)).toEqual({ kind: 'unlisten', port: 35791, tid: 14024 });
  });

  it('reads a successful bind as a hint without a port', () => {
    expect(parseTraceLine(BIND)).toEqual({ kind: 'bind', tid: 19054 });
    expect(parseTraceLine(' python3 -u x.py-77 [000] ..... 1.0: sys_bind -> 0x0')).toEqual({ kind: 'bind', tid: 77 });
    expect(parseTraceLine(BIND.replace('0x0', '0xffffffffffffff9e'))).toBeNull(); // a failed bind, should the filter let one by
  });

  it('reads lost events as a hint to rescan everything', () => {
    expect(parseTraceLine(LOST)).toEqual({ kind: 'lost' });
  });

  it('ignores markers, other transitions and noise', () => {
    expect(parseTraceLine(MARKER)).toBeNull();
    expect(parseTraceLine(SYN_RECV)).toBeNull(); // an accepted connection, should the filter let one by
    expect(parseTraceLine('')).toBeNull();
    expect(parseTraceLine('garbage sport=1')).toBeNull();
  });
});

describe('LineSplitter', () => {
  it('keeps a line cut between chunks for the next one', () => {
    const s = new LineSplitter();
    expect(s.push(`${LISTEN}\n${BIND.slice(0, 20)}`)).toEqual([LISTEN]);
    expect(s.push(`${BIND.slice(20)}\n`)).toEqual([BIND]);
    expect(s.push('')).toEqual([]);
  });

  it('drops a runaway line instead of buffering it without bound', () => {
    const s = new LineSplitter();
    expect(s.push('x'.repeat(100_000))).toEqual([]);
    expect(s.push(`tail\n${LOST}\n`)).toEqual(['tail', LOST]);
  });
});
