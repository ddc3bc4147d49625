import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { spawnSync } from 'node:child_process';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { extractTitle, interpretResponse, parseResponseHead, probeHttp } from '../../src/serve/http-probe.js';
import { waitFor } from '../helpers/processes.js';
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

/** Connections to or from `port` that are not listening sockets, as the kernel lists them (`ss`). */
function connectionsOf(port: number): string[] {
  const r = spawnSync('ss', ['-Htn', 'state', 'connected', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ss failed: ${r.stderr || r.error?.message}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** `p`, or a failure naming `what` if it has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

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

  it('a server that accepts and never reads nor closes: after the deadline the connection is gone from both sides', async () => {
    const port = await listen(createNetServer(() => {}));
    const { value, ms } = await timed(probeHttp({ host: '127.0.0.1', port }, { timeoutMs: 300 }));
    expect(value).toEqual({ http: null, title: null });
    expect(ms).toBeLessThan(1500);
    // A FIN alone would leave the server's side in CLOSE-WAIT (it never reads, so it never sees
    // the end) and ours in FIN-WAIT-2; after the grace the probe resets the connection.
    expect(connectionsOf(port).length).toBeGreaterThan(0);
    await waitFor(() => connectionsOf(port).length === 0, `no connection to :${port} left (ss)`, 5_000);
  });

  it('a server that reads but never answers is ended politely: it sees the end, no reset, and closes', async () => {
    const seen: string[] = [];
    const server = createNetServer((c) => {
      c.on('data', () => {}); // reads, waits for more
      c.on('end', () => seen.push('end'));
      c.on('error', (e: NodeJS.ErrnoException) => seen.push(`error ${e.code}`));
    });
    const port = await listen(server);
    expect(await probeHttp({ host: '127.0.0.1', port }, { timeoutMs: 300 })).toEqual({ http: null, title: null });
    await waitFor(() => seen.length > 0, 'the server to see the end of the probe');
    await within(new Promise<void>((r) => server.close(() => r())), 5_000, 'server.close()');
    expect(seen).toEqual(['end']);
  });

  it('closeGraceMs 0: a server that never reads gets a reset at the deadline, and its server.close() completes', async () => {
    const errors: string[] = [];
    // Without an 'error' listener on its sockets this Node server would die of the reset.
    const server = createNetServer((c) => c.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message)));
    const port = await listen(server);
    const { value, ms } = await timed(probeHttp({ host: '127.0.0.1', port }, { timeoutMs: 300, closeGraceMs: 0 }));
    expect(value).toEqual({ http: null, title: null });
    expect(ms).toBeLessThan(1500);
    await within(new Promise<void>((r) => server.close(() => r())), 5_000, 'server.close()');
    expect(errors).toEqual(['ECONNRESET']);
    await waitFor(() => connectionsOf(port).length === 0, `no connection to :${port} left (ss)`, 5_000);
  });

  it('the TLS attempt is closed the same way: a server that drops plain text, then never reads the handshake', async () => {
    let n = 0;
    const port = await listen(
      createNetServer((c) => {
        if (++n === 1) c.destroy(); // as a TLS server does with plain text: the probe tries TLS next
      }),
    );
    expect(await probeHttp({ host: '127.0.0.1', port }, { timeoutMs: 500 })).toEqual({ http: null, title: null });
    expect(n).toBe(2);
    await waitFor(() => connectionsOf(port).length === 0, `no connection to :${port} left (ss)`, 5_000);

    let m = 0;
    const errors: string[] = [];
    const strict = createNetServer((c) => {
      c.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
      if (++m === 1) c.destroy();
    });
    const strictPort = await listen(strict);
    expect(await probeHttp({ host: '127.0.0.1', port: strictPort }, { timeoutMs: 500, closeGraceMs: 0 })).toEqual({
      http: null,
      title: null,
    });
    expect(m).toBe(2);
    await within(new Promise<void>((r) => strict.close(() => r())), 5_000, 'server.close()');
    expect(errors).toEqual(['ECONNRESET']);
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
