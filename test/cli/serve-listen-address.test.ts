/** `serve --listen` says what is wrong with the address before anything else (the token check, listening). */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('portwatch serve --listen: a bad address is a usage error of its own', () => {
  it.each([
    ['abc', /^portwatch: invalid --listen 'abc': use HOST:PORT, \[IPv6\]:PORT or PORT \(a host name needs its port, e\.g\. abc:4040\)$/],
    ['40a0', /^portwatch: invalid --listen '40a0': use HOST:PORT, \[IPv6\]:PORT or PORT/],
    ['my_host', /^portwatch: invalid --listen 'my_host': 'my_host' is not an IP address or host name$/],
  ])('%j: one line, exit 2, even with no token and a non-loopback meaning', async (address, message) => {
    const r = await runCli(['serve', '--listen', address], { env: { PORTWATCH_TOKEN: '' } });
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.code).toBe(2);
  });
});
