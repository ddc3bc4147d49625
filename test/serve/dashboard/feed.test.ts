/** The feed's port list, run as the browser runs it: the page's own script text, in a VM context. */
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { FEED_JS } from '../../../src/serve/dashboard/feed.js';

const { portRanges } = new Script(`${FEED_JS}; ({ portRanges })`).runInNewContext({}) as { portRanges: (ports: number[]) => string };

describe('the feed: ports of a burst', () => {
  it.each([
    [[3000], '3000'],
    [Array.from({ length: 100 }, (_, i) => 3000 + i), '3000–3099'],
    [[3005, 3000, 3002, 3001], '3000–3002, 3005'],
    [[8080, 8080, 8081], '8080–8081'], // tcp and tcp6 on one port count once
    [[1, 3, 5, 7, 9, 11, 13, 15, 17, 18, 19, 21], '1, 3, 5, 7, 9, 11, 13, 15 … (+4 more)'],
  ])('%j → %s', (ports, text) => {
    expect(portRanges(ports)).toBe(text);
  });
});
