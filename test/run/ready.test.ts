import { describe, expect, it } from 'vitest';
import { PortwatchError } from '../../src/errors.js';
import { describeReadySpec, listenerUrl, parseReadySpec, readyListeners } from '../../src/run/ready.js';
import { listener } from '../rules/make-listener.js';

describe('--ready', () => {
  it('parses ports and any', () => {
    expect(parseReadySpec('5173')).toEqual({ kind: 'ports', ports: [5173] });
    expect(parseReadySpec('3000,5173,3000')).toEqual({ kind: 'ports', ports: [3000, 5173] });
    expect(parseReadySpec('ANY')).toEqual({ kind: 'any' });
    expect(() => parseReadySpec('http')).toThrow(
      new PortwatchError('EUSAGE', "invalid --ready 'http': use a port, ports like 3000,5173, or 'any'"),
    );
    expect(describeReadySpec(parseReadySpec('1,2'))).toBe('ports 1, 2');
    expect(describeReadySpec(parseReadySpec('any'))).toBe('any port');
  });

  it('ports: every one must listen (TCP or UDP); the listeners on them are the answer', () => {
    const a = listener({ port: 3000 });
    const b = listener({ port: 5173, protocol: 'udp' });
    const c = listener({ port: 9229 });
    const spec = parseReadySpec('3000,5173');
    expect(readyListeners(spec, [a, c], () => true)).toBeNull();
    expect(readyListeners(spec, [a, b, c], () => true)).toEqual([a, b]);
    expect(readyListeners(spec, [a, b], () => false)).toEqual([a, b]); // named ports count even if the rules ignore them
  });

  it('any: the first listener the rules do not ignore', () => {
    const debug = listener({ port: 9229 });
    const app = listener({ port: 3000 });
    const spec = parseReadySpec('any');
    expect(readyListeners(spec, [debug], (l) => l.port !== 9229)).toBeNull();
    expect(readyListeners(spec, [debug, app], (l) => l.port !== 9229)).toEqual([app]);
  });

  it('gives a URL a browser can open', () => {
    expect(listenerUrl(listener({ address: '0.0.0.0', port: 80 }))).toBe('http://localhost:80/');
    expect(listenerUrl(listener({ family: 6, address: '::', port: 3000 }))).toBe('http://localhost:3000/');
    expect(listenerUrl(listener({ family: 6, address: '::1', port: 3000 }))).toBe('http://[::1]:3000/');
    expect(listenerUrl(listener({ address: '127.0.0.1', port: 5173 }))).toBe('http://127.0.0.1:5173/');
  });
});
