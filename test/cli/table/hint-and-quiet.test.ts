import { describe, expect, it } from 'vitest';
import { privilegesHint } from '../../../src/cli/table/privileges-hint.js';
import { quietLines } from '../../../src/cli/table/quiet.js';
import { listener, proc } from '../../rules/make-listener.js';

describe('privilegesHint', () => {
  const mine = listener({ uid: 1000, process: proc() });
  const rootsUnknown = listener({ uid: 0, process: null, inode: 2 });
  const mineUnknown = listener({ uid: 1000, process: null, inode: 3 }); // gone, or in another pid namespace

  it("counts other users' listeners whose owner is unknown", () => {
    expect(privilegesHint([mine, rootsUnknown, mineUnknown], 1000)).toBe(
      'portwatch: 1 of 3 listeners belong to processes this user cannot read; run as root to see them',
    );
  });

  it('says nothing when nothing is hidden, or to root, or when the uid is unknown', () => {
    expect(privilegesHint([mine, mineUnknown], 1000)).toBeNull();
    expect(privilegesHint([rootsUnknown], 0)).toBeNull();
    expect(privilegesHint([rootsUnknown], undefined)).toBeNull();
    expect(privilegesHint([], 1000)).toBeNull();
  });
});

describe('quietLines', () => {
  const ls = [
    listener({ port: 8080, address: '127.0.0.1', inode: 1 }),
    listener({ port: 8080, family: 6, address: '::1', inode: 2 }),
    listener({ protocol: 'udp', port: 53, address: '127.0.0.53', inode: 3 }),
    listener({ port: 443, address: '0.0.0.0', inode: 4 }),
    listener({ protocol: 'udp', port: 8080, address: '127.0.0.1', inode: 5 }),
  ];

  it('ports, each once, in numeric order', () => {
    expect(quietLines(ls, false)).toEqual(['53', '443', '8080']);
  });

  it('--addresses: addr:port, each once, by port then address', () => {
    expect(quietLines(ls, true)).toEqual(['127.0.0.53:53', '0.0.0.0:443', '127.0.0.1:8080', '[::1]:8080']);
  });
});
