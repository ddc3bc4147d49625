import { describe, expect, it } from 'vitest';
import { COMMAND_CUT, compactListener, listenerTable, short, visible } from '../../src/mcp/compact.js';
import type { Listener } from '../../src/listener.js';

function listener(command: string, name = 'node'): Listener & { label: string | null } {
  return {
    protocol: 'tcp',
    family: 6,
    address: '::1',
    port: 3000,
    dualStack: false,
    interface: null,
    inode: 1,
    uid: 0,
    netns: null,
    process: { pid: 42, ppid: 1, name, command, uid: 0 },
    label: null,
  };
}

describe('compact results', () => {
  it('cuts a command line at COMMAND_CUT characters and records its whole length; never a short one', () => {
    const long = 'x'.repeat(COMMAND_CUT + 1);
    expect(compactListener(listener(long), false).process).toMatchObject({
      command: `${'x'.repeat(COMMAND_CUT)}…`,
      command_length: COMMAND_CUT + 1,
    });
    expect(compactListener(listener(long), true).process).toEqual(listener(long).process);
    const exact = 'y'.repeat(COMMAND_CUT);
    expect(compactListener(listener(exact), false).process).toEqual(listener(exact).process);
  });

  it('makes control characters and bidi overrides visible in text, so a row cannot split or reorder', () => {
    expect(visible('a\nb\r\tc\x1b[31m\x7f\u0085\u202e\u2028')).toBe('a\\nb\\r\\tc\\x1b[31m\\x7f\\x85\\u202e\\u2028');
    const table = listenerTable([listener('evil\n\x1b[2Jcmd', 'na\nme')]);
    expect(table.split('\n')).toEqual([
      'PROTO  ADDRESS     PID  PROCESS  LABEL  COMMAND',
      'tcp    [::1]:3000  42   na\\nme   -      evil\\n\\x1b[2Jcmd',
    ]);
    expect(short(listener('x', 'a\rb'), 'l\nl')).toBe('tcp [::1]:3000 a\\rb (pid 42) [l\\nl]');
    expect(short({ ...listener('x'), address: 'fe80::1', interface: 'eth0' }, null)).toBe('tcp [fe80::1%eth0]:3000 node (pid 42)');
  });
});
