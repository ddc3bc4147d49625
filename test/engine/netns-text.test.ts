import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { netnsOfLink, nsfsNetMounts, readInuse, unescapeMountPath } from '../../src/engine/netns-text.js';

function inuse(text: string): number[] {
  const out: number[] = [];
  const bytes = Buffer.from(text, 'latin1');
  return out.slice(0, readInuse(bytes, bytes.length, out, 0));
}
import { fixture } from '../helpers/fixtures.js';

describe('network namespace text', () => {
  it('reads the inode of a net:[N] link and nothing else', () => {
    expect(netnsOfLink('net:[4026531840]')).toBe('4026531840');
    for (const bad of ['mnt:[4026531840]', 'net:[]', 'net:[0]', 'net:[12a]', 'net:[4026531840', ' net:[1]', 'socket:[5]']) {
      expect(netnsOfLink(bad)).toBeNull();
    }
  });

  it('finds every network namespace bind-mounted, whatever tool made it, with escaped paths', () => {
    expect(nsfsNetMounts(fixture('netns/mountinfo'))).toEqual([
      { netns: '4026532177', path: '/run/netns/blue' },
      { netns: '4026532177', path: '/run/netns/blue-again' },
      { netns: '4026532301', path: '/run/netns/with space' },
      { netns: '4026532412', path: '/var/run/docker/netns/1a2b3c4d5e6f' },
    ]);
    expect(unescapeMountPath('/a\\011b\\134c')).toBe('/a\tb\\c');
  });

  it('keeps only the per-namespace socket counts of sockstat', () => {
    // TCP, UDP, UDPLITE, RAW, FRAG; then TCP6, UDP6, UDPLITE6, RAW6, FRAG6.
    expect(inuse(fixture('netns/sockstat'))).toEqual([3, 1, 0, 0, 0]);
    expect(inuse(fixture('netns/sockstat6'))).toEqual([2, 0, 0, 0, 0]);
    // alloc and mem are host-wide: a change there says nothing about this namespace.
    const busier = fixture('netns/sockstat').replace('alloc 1001 mem 85', 'alloc 1500 mem 90');
    expect(inuse(busier)).toEqual(inuse(fixture('netns/sockstat')));
    // A length shorter than the buffer is honoured.
    const out: number[] = [];
    expect(readInuse(Buffer.from('TCP: inuse 7 x UDP: inuse 9'), 13, out, 0)).toBe(1);
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        netnsOfLink(text);
        for (const m of nsfsNetMounts(text)) expect(m.path.startsWith('/')).toBe(true);
        expect(inuse(text).every((n) => Number.isSafeInteger(n) && n >= 0)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom('-', 'nsfs', 'net:[5]', '/x', ' ', '\n', '1'), { maxLength: 40 }), (parts) => {
        nsfsNetMounts(parts.join(' '));
      }),
    );
  });
});
