import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { extractTitle, interpretResponse, parseResponseHead, probeHttp } from '../../src/serve/http-probe.js';
import { TLS_OPTIONS } from './tls-fixture.js';

describe('parseResponseHead', () => {
  it('reads the status and headers, and where the body starts', () => {
    const buf = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-A:  b \r\n\r\n<html>');
    const head = parseResponseHead(buf);
    expect(head).toEqual({
      status: 200,
      headers: new Map([
        ['content-type', 'text/html'],
        ['x-a', 'b'],
      ]),
      bodyOffset: buf.indexOf('<html>'),
    });
  });
  it('says when more bytes are needed, and when it cannot be HTTP', () => {
    expect(parseResponseHead(Buffer.from(''))).toBe('incomplete');
    expect(parseResponseHead(Buffer.from('HTT'))).toBe('incomplete');
    expect(parseResponseHead(Buffer.from('HTTP/1.1 200 OK\r\nX: y'))).toBe('incomplete');
    expect(parseResponseHead(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'))).toBe('not-http');
    expect(parseResponseHead(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]))).toBe('not-http');
    expect(parseResponseHead(Buffer.from('HTTP/1.1 abc\r\n\r\n'))).toBe('not-http');
  });
});

describe('extractTitle', () => {
  it.each([
    ['<html><head><title>Vite App</title></head>', 'Vite App'],
    ['<TITLE lang="en">\n  My   Dev\n Server </TITLE>', 'My Dev Server'],
    ['<title>Tom &amp; Jerry &lt;3 &#x1F600; &#8212; &quot;q&quot; &bogus;</title>', 'Tom & Jerry <3 😀 — "q" &bogus;'],
    ['<title></title>', null],
    ['<title>   </title>', null],
    ['<h1>no title</h1>', null],
    ['<title>unterminated', null],
    ['<titlex>no</titlex>', null],
  ])('%j → %j', (html, title) => {
    expect(extractTitle(html)).toBe(title);
  });
  it('cuts very long titles', () => {
    const t = extractTitle(`<title>${'a'.repeat(1000)}</title>`);
    expect(t).toHaveLength(200);
    expect(t?.endsWith('…')).toBe(true);
  });
});

describe('interpretResponse', () => {
  const res = (status: number, type: string, body: string) => Buffer.from(`HTTP/1.1 ${status} X\r\nContent-Type: ${type}\r\n\r\n${body}`);
  it('a title from 2xx HTML only', () => {
    expect(interpretResponse(res(200, 'text/html; charset=utf-8', '<title>Home</title>'))).toEqual({ isHttp: true, title: 'Home' });
    expect(interpretResponse(res(404, 'text/html', '<title>404 Not Found</title>'))).toEqual({ isHttp: true, title: null });
    expect(interpretResponse(res(200, 'application/json', '{"title":"<title>x</title>"}'))).toEqual({ isHttp: true, title: null });
    expect(interpretResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-'))).toEqual({ isHttp: true, title: null });
    expect(interpretResponse(Buffer.from('220 smtp ready\r\n'))).toEqual({ isHttp: false, title: null });
    expect(interpretResponse(Buffer.alloc(0))).toEqual({ isHttp: false, title: null });
  });
});

describe('probeHttp against real servers', () => {
  const servers: (HttpServer | NetServer)[] = [];
  const sockets = new Set<Socket>();
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    for (const s of servers.splice(0)) {
      if ('closeAllConnections' in s) s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
  async function listen<S extends HttpServer | NetServer>(s: S, host = '127.0.0.1'): Promise<number> {
    servers.push(s);
    s.on('connection', (c: Socket) => {
      sockets.add(c);
      c.once('close', () => sockets.delete(c));
    });
    await new Promise<void>((r) => s.listen(0, host, () => r()));
    return (s.address() as AddressInfo).port;
  }
  async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
    const t = performance.now();
    const value = await p;
    return { value, ms: performance.now() - t };
  }

  it('http with the page title, sending a Host header and no keep-alive', async () => {
    const seen: Record<string, string | undefined>[] = [];
    const port = await listen(
      createHttpServer((req, res) => {
        seen.push({ host: req.headers.host, connection: req.headers.connection, ua: req.headers['user-agent'], url: req.url });
        res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>Hello probe</title><p>hi');
      }),
    );
    expect(await probeHttp({ host: '127.0.0.1', port })).toEqual({ http: 'http', title: 'Hello probe' });
    expect(seen).toEqual([{ host: `localhost:${port}`, connection: 'close', ua: 'portwatch-probe', url: '/' }]);
  });

  it('http on ::1, and http without a title for JSON and for errors', async () => {
    const json = await listen(
      createHttpServer((_q, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}')),
      '::1',
    );
    const notFound = await listen(
      createHttpServer((_q, res) => res.writeHead(404, { 'Content-Type': 'text/html' }).end('<title>Nope</title>')),
    );
    expect(await probeHttp({ host: '::1', port: json })).toEqual({ http: 'http', title: null });
    expect(await probeHttp({ host: '127.0.0.1', port: notFound })).toEqual({ http: 'http', title: null });
  });

  it('https (self-signed) with its title', async () => {
    const port = await listen(
      createHttpsServer(TLS_OPTIONS, (_q, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<title>Secure dev</title>')),
    );
    const { value, ms } = await timed(probeHttp({ host: '127.0.0.1', port }));
    expect(value).toEqual({ http: 'https', title: 'Secure dev' });
    expect(ms).toBeLessThan(1000);
  });

  it('null, quickly, for a server that speaks first in another protocol', async () => {
    const port = await listen(createNetServer((s) => s.end('SSH-2.0-OpenSSH_9.2p1\r\n')));
    const { value, ms } = await timed(probeHttp({ host: '127.0.0.1', port }, { timeoutMs: 5000 }));
    expect(value).toEqual({ http: null, title: null });
    expect(ms).toBeLessThan(2000);
  });

  it('null for a server that closes at once, and for a closed port', async () => {
    const closer = await listen(createNetServer((s) => s.destroy()));
    expect(await probeHttp({ host: '127.0.0.1', port: closer }, { timeoutMs: 5000 })).toEqual({ http: null, title: null });
    const gone = createNetServer();
    const port = await listen(gone);
    servers.pop();
    await new Promise<void>((r) => gone.close(() => r()));
    const { value, ms } = await timed(probeHttp({ host: '127.0.0.1', port }, { timeoutMs: 5000 }));
    expect(value).toEqual({ http: null, title: null });
    expect(ms).toBeLessThan(2000);
  });

  it('bounded in time: a server that never answers costs about timeoutMs', async () => {
    const port = await listen(createNetServer(() => {}));
    const { value, ms } = await timed(probeHttp({ host: '127.0.0.1', port }, { timeoutMs: 300 }));
    expect(value).toEqual({ http: null, title: null });
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(1500);
  });

  it('bounded in bytes: an endless page without a title stops at maxBytes, long before the timeout', async () => {
    let sent = 0;
    const port = await listen(
      createHttpServer((_q, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        const chunk = Buffer.alloc(16 * 1024, 'a');
        const pump = (): void => {
          while (!res.destroyed && sent < 50 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
        };
        pump();
      }),
    );
    const { value, ms } = await timed(probeHttp({ host: '127.0.0.1', port }, { timeoutMs: 10_000, maxBytes: 64 * 1024 }));
    expect(value).toEqual({ http: 'http', title: null });
    expect(ms).toBeLessThan(3000);
    expect(sent).toBeLessThan(50 * 1024 * 1024);
  });

  it('finds a title that arrives after the headers, in a later chunk', async () => {
    const port = await listen(
      createHttpServer((_q, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.write(`<html><head>${' '.repeat(2000)}`);
        setTimeout(() => res.end('<title>Late</title></head></html>'), 50);
      }),
    );
    expect(await probeHttp({ host: '127.0.0.1', port })).toEqual({ http: 'http', title: 'Late' });
  });

  it('stops when aborted', async () => {
    const port = await listen(createNetServer(() => {}));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const { value, ms } = await timed(probeHttp({ host: '127.0.0.1', port }, { timeoutMs: 10_000, signal: controller.signal }));
    expect(value).toEqual({ http: null, title: null });
    expect(ms).toBeLessThan(2000);
  });
});
