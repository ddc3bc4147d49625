import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeScope, inScope, scopeArgs } from '../../src/mcp/scope.js';
import { listener } from '../rules/make-listener.js';

const web = { id: 'a1b2c3d4e5f6'.padEnd(64, '0'), name: 'web', runtime: 'docker', image: 'nginx', pod: null, namespace: null };

describe('host mode scope (netns, container)', () => {
  const onHost = listener({ netns: '4026531840', container: null });
  const inWeb = listener({ netns: '4026532200', container: web, inode: 2 });
  const other = listener({ netns: '4026532300', container: null, inode: 3 });

  it('keeps what the scope names: a netns, a container by name, id or id prefix; everything when it names nothing', () => {
    const keep = (scope: Parameters<typeof inScope>[0]) => [onHost, inWeb, other].filter(inScope(scope)).map((l) => l.inode);
    expect(keep({})).toEqual([1000, 2, 3]);
    expect(keep({ netns: '4026532300' })).toEqual([3]);
    expect(keep({ container: 'web' })).toEqual([2]);
    expect(keep({ container: 'a1b2' })).toEqual([2]);
    expect(keep({ container: 'a1b' })).toEqual([]); // an id prefix needs 4 hex digits
    expect(keep({ netns: '4026532200', container: 'web' })).toEqual([2]);
    expect(keep({ netns: '4026532300', container: 'web' })).toEqual([]);
  });

  it('takes the netns as a number or as text, and is offered only with every namespace', () => {
    const args = z.object(scopeArgs(true)).strict();
    expect(args.parse({ netns: 4026532200 })).toEqual({ netns: '4026532200' });
    expect(args.parse({ netns: ' 4026532200 ' })).toEqual({ netns: '4026532200' });
    expect(args.safeParse({ container: '' }).success).toBe(false);
    expect(Object.keys(scopeArgs(false))).toEqual([]);
  });

  it('says where, in words', () => {
    expect(describeScope({})).toBe('');
    expect(describeScope({ netns: '4026532200' })).toBe(' in netns 4026532200');
    expect(describeScope({ netns: '1', container: 'web\u001b' })).toBe(' in netns 1, container web\\x1b');
  });
});
