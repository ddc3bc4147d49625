import { describe, expect, it } from 'vitest';
import { isLoopbackHost, parseListenAddress, urlHost } from '../../src/serve/listen-address.js';

describe('parseListenAddress', () => {
  it.each([
    ['4040', { host: '127.0.0.1', port: 4040 }],
    ['0', { host: '127.0.0.1', port: 0 }],
    ['127.0.0.1:4040', { host: '127.0.0.1', port: 4040 }],
    ['0.0.0.0:8080', { host: '0.0.0.0', port: 8080 }],
    ['0.0.0.0', { host: '0.0.0.0', port: 4040 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['[::1]:4040', { host: '::1', port: 4040 }],
    ['[::]:80', { host: '::', port: 80 }],
    ['[::1]', { host: '::1', port: 4040 }],
    ['::1', { host: '::1', port: 4040 }],
    ['my-host.example:9000', { host: 'my-host.example', port: 9000 }],
  ])('%s', (text, expected) => {
    expect(parseListenAddress(text)).toEqual(expected);
  });

  it.each([
    ['', /use e\.g\./],
    [':4040', /the host is missing/],
    ['127.0.0.1:70000', /port must be a number from 0 to 65535/],
    ['127.0.0.1:http', /port must be a number/],
    ['[::1]:', /port is missing/],
    ['[nope]:80', /\[IPv6\]:PORT/],
    ['::1:4040:x', /not an IP address|brackets/],
    ['bad_host!:80', /not an IP address or host name/],
  ])('rejects %j', (text, message) => {
    expect(() => parseListenAddress(text)).toThrow(expect.objectContaining({ code: 'EUSAGE', message: expect.stringMatching(message) }));
  });
});

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'])(
    '%s is loopback',
    (h) => {
      expect(isLoopbackHost(h)).toBe(true);
    },
  );
  it.each(['0.0.0.0', '::', '192.168.1.2', '10.0.0.1', 'example.com', 'localhost.example.com', '::ffff:10.0.0.1', '128.0.0.1'])(
    '%s is not',
    (h) => {
      expect(isLoopbackHost(h)).toBe(false);
    },
  );
});

describe('urlHost', () => {
  it('brackets IPv6 only', () => {
    expect(urlHost('::1')).toBe('[::1]');
    expect(urlHost('127.0.0.1')).toBe('127.0.0.1');
    expect(urlHost('localhost')).toBe('localhost');
  });
});
