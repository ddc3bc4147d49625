import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findHints, HintScanner, isLocalHost, stripAnsi } from '../../src/run/url-hints.js';

const ports = (text: string): string[] => findHints(text, 'devbox').map((h) => `${h.host ?? '-'} ${h.port}`);

describe('findHints on what dev servers print', () => {
  it.each([
    [
      'Vite, coloured',
      '  \u001b[32m➜\u001b[39m  \u001b[1mLocal\u001b[22m:   \u001b[36mhttp://localhost:\u001b[1m5173\u001b[22m/\u001b[39m\n',
      ['localhost 5173'],
    ],
    ['Vite, network', '  ➜  Network: http://192.168.1.23:5173/\n', ['192.168.1.23 5173']],
    ['Next.js', '   ▲ Next.js 14.2.3\n   - Local:        http://localhost:3000\n', ['localhost 3000']],
    ['python -m http.server', 'Serving HTTP on 0.0.0.0 port 8000 (http://0.0.0.0:8000/) ...\n', ['0.0.0.0 8000', '- 8000']],
    ['Flask', ' * Running on http://127.0.0.1:5000\nPress CTRL+C to quit\n', ['127.0.0.1 5000']],
    ['Puma, IPv6', '* Listening on http://[::1]:3000\n', ['[::1] 3000']],
    ['Django', 'Starting development server at http://127.0.0.1:8000/\n', ['127.0.0.1 8000']],
    ['Express', 'Example app listening on port 3000\n', ['- 3000']],
    ['uvicorn', 'INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)\n', ['127.0.0.1 8000']],
    ['a bare host:port', 'ready - started server on 0.0.0.0:3000, url: http://localhost:3000\n', ['localhost 3000', '0.0.0.0 3000']],
    ['our own hostname', 'open http://devbox:8080/ in a browser\n', ['devbox 8080']],
    ['*.localhost', 'http://app.localhost:4000\n', ['app.localhost 4000']],
    ['default ports', 'see http://localhost/ and https://localhost/\n', ['localhost 80', 'localhost 443']],
  ])('%s', (_name, text, expected) => {
    expect(ports(text).sort()).toEqual([...expected].sort());
  });

  it.each([
    ['documentation links', 'See https://vitejs.dev/config/ and https://github.com/vitejs/vite/issues\n'],
    ['remote hosts, even with a port', 'proxying to https://api.example.com:8443/v1\n'],
    ['ports out of range', 'http://localhost:70000/ and listening on port 0\n'],
    ['numbers that are not ports', 'compiled 3000 modules in 1.2s; 127.0.0.1 is loopback\n'],
  ])('no hint in %s', (_name, text) => {
    expect(ports(text)).toEqual([]);
  });

  it('strips colour and hyperlink escapes', () => {
    expect(stripAnsi('\u001b[1;32mok\u001b[0m \u001b]8;;http://x\u0007link\u001b]8;;\u0007')).toBe('ok link');
  });

  it('knows which hosts may be this machine', () => {
    for (const h of ['localhost', 'LOCALHOST', 'a.localhost', '127.0.0.1', '0.0.0.0', '[::1]', '::', '10.1.2.3', 'devbox'])
      expect(isLocalHost(h, 'devbox')).toBe(true);
    for (const h of ['example.com', 'localhost.example.com', 'github.com']) expect(isLocalHost(h, 'devbox')).toBe(false);
  });
});

describe('HintScanner: output in arbitrary chunks', () => {
  it('gives a hint once its line ends, and not twice', () => {
    const s = new HintScanner();
    expect(s.push('  Local: http://localhost:51')).toEqual([]);
    expect(s.push('73/')).toEqual([{ host: 'localhost', port: 5173 }]); // settled: '/' cannot continue a port
    expect(s.push('\n')).toEqual([]);
    expect(s.flush()).toEqual([]);
  });

  it('hears a server that prints its URL without a newline and waits', () => {
    const s = new HintScanner();
    expect(s.push('ready at http://127.0.0.1:3000')).toEqual([]); // the port may go on
    expect(s.push(' ')).toEqual([{ host: '127.0.0.1', port: 3000 }]);
  });

  it('does not take a half-written URL for a whole one', () => {
    const s = new HintScanner();
    expect(s.push('http://localhost')).toEqual([]);
    expect(s.push(':')).toEqual([]);
    expect(s.push('\u001b[')).toEqual([]);
    expect(s.push('1m8080\u001b[22m/\n')).toEqual([{ host: 'localhost', port: 8080 }]);
  });

  it('treats \\r as a line end (progress output)', () => {
    const s = new HintScanner();
    expect(s.push('building…\rlistening on port 4000\r')).toEqual([{ host: null, port: 4000 }]);
  });

  it('keeps at most a bounded unfinished line', () => {
    const s = new HintScanner();
    s.push('x'.repeat(100_000));
    expect(s.push(' then http://localhost:9000/\n')).toEqual([{ host: 'localhost', port: 9000 }]);
  });

  it('finds the same hints however the output is cut', () => {
    const lines = fc.constantFrom(
      '  ➜  Local:   \u001b[36mhttp://localhost:\u001b[1m5173\u001b[22m/\u001b[39m',
      'Serving HTTP on 0.0.0.0 port 8000 (http://0.0.0.0:8000/) ...',
      ' * Running on http://127.0.0.1:5000',
      'Example app listening on port 3000',
      'see https://vitejs.dev/guide/',
      'compiled 1234 modules',
      '* Listening on http://[::1]:3001',
      '',
    );
    fc.assert(
      fc.property(fc.array(lines, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (ls, cuts) => {
        const text = ls.join('\n');
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const s = new HintScanner();
        const got = new Set<string>();
        let from = 0;
        for (const p of [...points, text.length]) {
          for (const h of s.push(text.slice(from, p))) got.add(`${h.host}|${h.port}`);
          from = p;
        }
        for (const h of s.flush()) got.add(`${h.host}|${h.port}`);
        expect([...got].sort()).toEqual(
          findHints(text)
            .map((h) => `${h.host}|${h.port}`)
            .sort(),
        );
      }),
      { numRuns: 500 },
    );
  });
});
