import { createServer as createHttpServer, request, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { SANDBOX_CSP, clientResponseHeaders, rewriteLocation, upstreamRequestHeaders } from '../../src/serve/proxy.js';
import { SESSION_COOKIE } from '../../src/serve/security.js';
import type { ServeServer } from '../../src/serve/server.js';
import { waitFor } from '../helpers/processes.js';
import { closeAll, httpGet, portsIn, SseClient, startServe } from './helpers.js';
import { TLS_OPTIONS } from './tls-fixture.js';

describe('upstreamRequestHeaders', () => {
  const base = {
    port: 3000,
    prefix: null,
    publicHost: 'p3000.localhost:4040',
    token: 'tok',
    clientAddress: '::ffff:127.0.0.1',
    upgrade: false,
  };

  it('drops hop-by-hop headers and those named in Connection; keeps Host and the rest', () => {
    const out = upstreamRequestHeaders(
      [
        'Host',
        'p3000.localhost:4040',
        'Connection',
        'keep-alive, X-Secret-Hop',
        'Keep-Alive',
        'timeout=5',
        'X-Secret-Hop',
        '1',
        'TE',
        'trailers',
        'Accept',
        'text/html',
        'Proxy-Authorization',
        'Basic x',
        'Upgrade',
        'h2c',
      ],
      base,
    );
    expect(out).toEqual([
      'Host',
      'p3000.localhost:4040',
      'Accept',
      'text/html',
      'X-Forwarded-For',
      '127.0.0.1',
      'X-Forwarded-Host',
      'p3000.localhost:4040',
      'X-Forwarded-Proto',
      'http',
    ]);
  });

  it("never passes portwatch's own token or session cookie on; other credentials stay", () => {
    const out = upstreamRequestHeaders(['Authorization', 'Bearer tok', 'Cookie', `a=1; ${SESSION_COOKIE}=c2Vzc2lvbg; b=2`], base);
    expect(out.slice(0, 2)).toEqual(['Cookie', 'a=1; b=2']);
    const onlyOurs = upstreamRequestHeaders(['Cookie', `${SESSION_COOKIE}=x`, 'Authorization', 'Bearer app-token'], base);
    expect(onlyOurs.slice(0, 2)).toEqual(['Authorization', 'Bearer app-token']);
  });

  it('appends to X-Forwarded-For, replaces the other X-Forwarded-* and adds the prefix of the path form', () => {
    const out = upstreamRequestHeaders(['X-Forwarded-For', '10.0.0.1', 'X-Forwarded-Host', 'spoofed', 'X-Forwarded-Prefix', '/evil'], {
      ...base,
      prefix: '/proxy/3000',
      publicHost: 'localhost:4040',
    });
    expect(out).toEqual([
      'X-Forwarded-For',
      '10.0.0.1, 127.0.0.1',
      'X-Forwarded-Host',
      'localhost:4040',
      'X-Forwarded-Proto',
      'http',
      'X-Forwarded-Prefix',
      '/proxy/3000',
    ]);
  });

  it('keeps a chunked body chunked, and keeps Connection: Upgrade for upgrades', () => {
    expect(upstreamRequestHeaders(['Transfer-Encoding', 'chunked'], base).slice(0, 2)).toEqual(['Transfer-Encoding', 'chunked']);
    const up = upstreamRequestHeaders(['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'], {
      ...base,
      upgrade: true,
    });
    expect(up.slice(0, 6)).toEqual(['Sec-WebSocket-Key', 'k', 'Connection', 'Upgrade', 'Upgrade', 'websocket']);
  });
});

describe('rewriteLocation', () => {
  const sub = { port: 3000, prefix: null, publicHost: 'p3000.localhost:4040' };
  const path = { port: 3000, prefix: '/proxy/3000', publicHost: 'localhost:4040' };
  it.each([
    [sub, 'http://localhost:3000/login?x=1#h', '//p3000.localhost:4040/login?x=1#h'],
    [sub, 'http://127.0.0.1:3000/', '//p3000.localhost:4040/'],
    [sub, 'http://[::1]:3000/a', '//p3000.localhost:4040/a'],
    [sub, '/login', '/login'],
    [sub, 'http://localhost:3001/other-port', 'http://localhost:3001/other-port'],
    [sub, 'https://example.com/', 'https://example.com/'],
    [sub, '//cdn.example.com/x', '//cdn.example.com/x'],
    [sub, 'relative/path', 'relative/path'],
    [path, '/login', '/proxy/3000/login'],
    [path, 'http://localhost:3000/login', '//localhost:4040/proxy/3000/login'],
    [sub, 'not a url', 'not a url'],
  ])('%o: %s → %s', (route, location, expected) => {
    expect(rewriteLocation(location, route)).toBe(expected);
  });
});

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop headers, keeps repeated Set-Cookie, rewrites Location', () => {
    const out = clientResponseHeaders(
      [
        'Connection',
        'close',
        'Transfer-Encoding',
        'chunked',
        'Set-Cookie',
        'a=1',
        'Set-Cookie',
        'b=2',
        'Location',
        'http://localhost:3000/x',
        'Keep-Alive',
        'timeout=5',
      ],
      { port: 3000, prefix: null, publicHost: 'p3000.localhost:4040' },
    );
    expect(out).toEqual(['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Location', '//p3000.localhost:4040/x']);
  });
});

// ---- through a real portwatch serve ------------------------------------------------------

const upstreams: (HttpServer | WebSocketServer)[] = [];
afterEach(async () => {
  await closeAll();
  for (const s of upstreams.splice(0)) {
    if (s instanceof WebSocketServer) {
      for (const c of s.clients) c.terminate();
      await new Promise<void>((r) => s.close(() => r()));
    } else {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }
});

async function upstream(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  host = '127.0.0.1',
): Promise<{ server: HttpServer; port: number }> {
  const server = createHttpServer(handler);
  upstreams.push(server);
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A serve whose table holds only `ports`, waiting until each is listed. */
async function serveFor(ports: number[], options: Parameters<typeof startServe>[0] = {}): Promise<ServeServer> {
  const wanted = new Set(ports);
  const server = await startServe({ filter: portsIn(wanted), ...options });
  await waitFor(() => ports.every((p) => server.listeners().some((l) => l.port === p)), `ports ${ports.join(', ')} to be listed`);
  return server;
}

/** Resolves every name to loopback, so that p<PORT>.localhost works whatever the resolver says. */
const toLoopback: LookupFunction = (_hostname, options, callback) => {
  if (options.all)
    (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

/** The status of a refused WebSocket handshake. */
function upgradeStatus(url: string): Promise<number> {
  const ws = new WebSocket(url);
  ws.on('error', () => {}); // the refusal itself
  return new Promise((resolve) => {
    ws.once('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    ws.once('open', () => {
      resolve(101);
      ws.terminate();
    });
  });
}

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function echo(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => (body += d));
  req.on('end', () => {
    res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/']);
    res.writeHead(201, { 'Content-Type': 'application/json', 'X-Upstream': 'yes' });
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
  });
}

describe('the proxy, end to end', () => {
  it('forwards requests through both URL forms, to an IPv6-only server too, keeping method, path, query, body and headers', async () => {
    const v4 = await upstream(echo);
    const v6 = await upstream(echo, '::1');
    const server = await serveFor([v4.port, v6.port], { probe: false });
    for (const { port } of [v4, v6]) {
      const viaHost = await httpGet(server.port, '/a/b?x=1&y=%20', {
        method: 'POST',
        body: 'hello',
        headers: { host: `p${port}.localhost:${server.port}`, 'content-type': 'text/plain' },
      });
      expect(viaHost.status).toBe(201);
      expect(viaHost.headers['x-upstream']).toBe('yes');
      expect(viaHost.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
      const e = JSON.parse(viaHost.body) as Echo;
      expect(e).toMatchObject({ method: 'POST', url: '/a/b?x=1&y=%20', body: 'hello' });
      expect(e.headers).toMatchObject({
        host: `p${port}.localhost:${server.port}`,
        'x-forwarded-host': `p${port}.localhost:${server.port}`,
        'x-forwarded-proto': 'http',
        'x-forwarded-for': '127.0.0.1',
      });
      expect(e.headers['x-forwarded-prefix']).toBeUndefined();

      const viaPath = await httpGet(server.port, `/proxy/${port}/a/b?x=1`, { method: 'PUT', body: 'data' });
      expect(viaPath.status).toBe(201);
      expect(JSON.parse(viaPath.body)).toMatchObject({
        method: 'PUT',
        url: '/a/b?x=1',
        body: 'data',
        headers: { 'x-forwarded-prefix': `/proxy/${port}` },
      });
    }
    const noSlash = await httpGet(server.port, `/proxy/${v4.port}?q=1`);
    expect(noSlash.status).toBe(308);
    expect(noSlash.headers.location).toBe(`/proxy/${v4.port}/?q=1`);
  });

  it('streams: the first chunk arrives before the server has written the second', async () => {
    const waiting: ServerResponse[] = []; // responses that wrote their first chunk and wait to be released
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first\n');
      waiting.push(res);
    });
    const release = (): void => void waiting.shift()?.end('second\n');
    const server = await serveFor([up.port], { probe: false });
    for (const path of ['/', `/proxy/${up.port}/`]) {
      const host = path === '/' ? `p${up.port}.localhost:${server.port}` : `localhost:${server.port}`;
      let got = '';
      let ended = false;
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path, headers: { host }, agent: false }, (res) => {
          res.setEncoding('utf8');
          res.on('data', (d: string) => (got += d));
          res.on('end', () => (ended = true));
          resolve();
        });
        req.on('error', reject);
        req.end();
      });
      await waitFor(() => got === 'first\n', 'the first chunk');
      expect(ended).toBe(false);
      release();
      await waitFor(() => ended, 'the end of the response');
      expect(got).toBe('first\nsecond\n');
    }
  });

  it('streams server-sent events from the target as they happen', async () => {
    const streams: ServerResponse[] = [];
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.flushHeaders(); // as event-stream servers do: headers now, events later
      streams.push(res);
    });
    const server = await serveFor([up.port], { probe: false });
    const c = new SseClient(server.port, `/proxy/${up.port}/events`);
    await c.opened; // headers through before any event
    expect(c.headers['content-type']).toBe('text/event-stream');
    await waitFor(() => streams.length === 1, 'the upstream stream');
    streams[0]?.write('id: 1\ndata: tick\n\n');
    await c.until((x) => x.messages.length === 1, 'the proxied event');
    expect(c.messages[0]).toEqual({ id: '1', event: 'message', data: 'tick' });
  });

  it('forwards WebSocket upgrades (echo) through both URL forms', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    upstreams.push(wss);
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const wsPort = (wss.address() as AddressInfo).port;
    const seen: string[] = [];
    wss.on('connection', (socket, req) => {
      seen.push(`${req.url} ${req.headers.host}`);
      socket.on('message', (data: RawData, isBinary) => socket.send(data, { binary: isBinary }));
    });
    const server = await serveFor([wsPort], { probe: false });
    const urls = [`ws://p${wsPort}.localhost:${server.port}/hmr?token=app`, `ws://127.0.0.1:${server.port}/proxy/${wsPort}/hmr?token=app`];
    for (const url of urls) {
      const ws = new WebSocket(url, { lookup: toLoopback });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const replies: string[] = [];
      ws.on('message', (d: RawData, isBinary) => replies.push(isBinary ? `bin:${(d as Buffer).toString('hex')}` : d.toString()));
      ws.send('hello');
      ws.send(Buffer.from([1, 2, 255]));
      ws.send('x'.repeat(100_000));
      await waitFor(() => replies.length === 3, 'three echoes');
      expect(replies.slice(0, 2)).toEqual(['hello', 'bin:0102ff']);
      expect(replies[2]).toHaveLength(100_000);
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      ws.close(1000);
      expect(await closed).toBe(1000);
    }
    expect(seen).toEqual([`/hmr?token=app p${wsPort}.localhost:${server.port}`, `/hmr?token=app 127.0.0.1:${server.port}`]);
    const metrics = await server.metrics.registry.getSingleMetricAsString('portwatch_proxy_requests_total');
    expect(metrics).toMatch(/portwatch_proxy_requests_total\{status="101"\} 2/);
  });

  it('502 naming the port once it has closed, as a page for browsers', async () => {
    const up = await upstream(echo);
    const server = await serveFor([up.port], { probe: false });
    expect((await httpGet(server.port, `/proxy/${up.port}/`)).status).toBe(201);
    up.server.closeAllConnections();
    await new Promise<void>((r) => up.server.close(() => r()));
    upstreams.splice(upstreams.indexOf(up.server), 1);
    await waitFor(() => !server.listeners().some((l) => l.port === up.port), 'the close to be seen');
    const text = await httpGet(server.port, `/proxy/${up.port}/x`);
    expect(text.status).toBe(502);
    expect(text.body).toMatch(new RegExp(`^portwatch: nothing is listening on TCP port ${up.port}\\.`));
    const page = await httpGet(server.port, '/', { headers: { host: `p${up.port}.localhost:${server.port}`, accept: 'text/html' } });
    expect(page.status).toBe(502);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain(`<title>502 Bad Gateway · portwatch</title>`);
    expect(page.body).toContain(`nothing is listening on TCP port ${up.port}.`);
    expect(await upgradeStatus(`ws://127.0.0.1:${server.port}/proxy/${up.port}/`)).toBe(502);
    expect(await server.metrics.registry.getSingleMetricAsString('portwatch_proxy_requests_total')).toMatch(/status="502"\} 3/);
  });

  it('refuses to proxy to its own port, in every form', async () => {
    const server = await startServe({ probe: false });
    const byPath = await httpGet(server.port, `/proxy/${server.port}/healthz`);
    expect(byPath.status).toBe(403);
    expect(byPath.body).toContain(`port ${server.port} is portwatch itself`);
    expect((await httpGet(server.port, '/healthz', { headers: { host: `p${server.port}.localhost:${server.port}` } })).status).toBe(403);
    expect(await upgradeStatus(`ws://127.0.0.1:${server.port}/proxy/${server.port}/`)).toBe(403);
  });

  it('only reaches ports that listen now: a port nobody listens on is a 502, never a connection attempt elsewhere', async () => {
    const server = await startServe({ probe: false, filter: () => false });
    const r = await httpGet(server.port, '/proxy/1/');
    expect(r.status).toBe(502);
    expect(r.body).toContain('nothing is listening on TCP port 1');
    expect((await httpGet(server.port, '/proxy/99999/')).status).toBe(400);
  });

  it('limits request bodies: declared or streamed, 413', async () => {
    let reached = 0;
    const up = await upstream((req, res) => {
      reached++;
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const server = await serveFor([up.port], { probe: false, maxBodyBytes: 1000 });
    const declared = await httpGet(server.port, `/proxy/${up.port}/`, { method: 'POST', body: 'x'.repeat(2000) });
    expect(declared.status).toBe(413);
    expect(reached).toBe(0);
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: `/proxy/${up.port}/`,
          method: 'POST',
          headers: { host: `localhost:${server.port}`, 'transfer-encoding': 'chunked' },
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 5; i++) req.write('y'.repeat(400));
      req.end();
    });
    expect(chunked).toBe(413);
    expect((await httpGet(server.port, `/proxy/${up.port}/`, { method: 'POST', body: 'z'.repeat(1000) })).status).toBe(200);
  });

  it('points redirects to the target itself back through the proxy', async () => {
    const up = await upstream((req, res) => {
      const port = (req.socket.address() as AddressInfo).port;
      res.writeHead(302, { Location: req.url === '/abs' ? `http://localhost:${port}/login` : '/login' }).end();
    });
    const server = await serveFor([up.port], { probe: false });
    const sub = await httpGet(server.port, '/abs', { headers: { host: `p${up.port}.localhost:${server.port}` } });
    expect(sub.headers.location).toBe(`//p${up.port}.localhost:${server.port}/login`);
    const path = await httpGet(server.port, `/proxy/${up.port}/rel`);
    expect(path.headers.location).toBe(`/proxy/${up.port}/login`);
  });

  it('speaks TLS to a target the probe found to be HTTPS', async () => {
    const tlsServer = createHttpsServer(TLS_OPTIONS, (req, res) =>
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<title>TLS app</title>${req.url}`),
    );
    upstreams.push(tlsServer);
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', () => r()));
    const port = (tlsServer.address() as AddressInfo).port;
    const server = await serveFor([port]);
    await waitFor(() => server.listeners().find((l) => l.port === port)?.http === 'https', 'the probe to find https');
    const r = await httpGet(server.port, `/proxy/${port}/page`);
    expect(r.status).toBe(200);
    expect(r.body).toBe('<title>TLS app</title>/page');
  });

  it("with a token: the target never sees portwatch's token or cookie", async () => {
    const up = await upstream(echo);
    const token = 'proxy-token-123456';
    const server = await serveFor([up.port], { probe: false, token });
    const authorization = `Bearer ${token}`;
    const cookie = `app=1; ${SESSION_COOKIE}=c2Vzc2lvbg; portwatch_proxy_session=x`;
    const viaCookie = JSON.parse((await httpGet(server.port, `/proxy/${up.port}/`, { headers: { cookie, authorization } })).body) as Echo;
    expect(viaCookie.headers.cookie).toBe('app=1');
    const viaBearer = JSON.parse(
      (await httpGet(server.port, `/proxy/${up.port}/`, { headers: { authorization: `Bearer ${token}` } })).body,
    ) as Echo;
    expect(viaBearer.headers.authorization).toBeUndefined();
    expect(JSON.stringify(viaBearer)).not.toContain(token);
    const viaQuery = JSON.parse((await httpGet(server.port, `/proxy/${up.port}/x?token=${token}&keep=1`)).body) as Echo;
    expect(viaQuery.url).toBe('/x?keep=1');
    expect((await httpGet(server.port, `/proxy/${up.port}/`)).status).toBe(401);
  });

  it("never passes a target's Service-Worker-Allowed or portwatch_* cookies; sandboxes the path form only", async () => {
    const up = await upstream((_req, res) => {
      res.setHeader('Set-Cookie', ['portwatch_session=evil; Path=/', ' portwatch_proxy_session =x', 'app=1; Path=/']);
      res.writeHead(200, { 'Service-Worker-Allowed': '/', 'Content-Security-Policy': "img-src 'self'", 'Content-Type': 'text/html' });
      res.end('<title>app</title>');
    });
    const server = await serveFor([up.port], { probe: false });
    const viaPath = await httpGet(server.port, `/proxy/${up.port}/`);
    expect(viaPath.headers['service-worker-allowed']).toBeUndefined();
    expect(viaPath.headers['set-cookie']).toEqual(['app=1; Path=/']);
    expect(viaPath.headers['content-security-policy']).toBe(`img-src 'self', ${SANDBOX_CSP}`);
    const viaHost = await httpGet(server.port, '/', { headers: { host: `p${up.port}.localhost:${server.port}` } });
    expect(viaHost.headers['service-worker-allowed']).toBeUndefined();
    expect(viaHost.headers['set-cookie']).toEqual(['app=1; Path=/']);
    expect(viaHost.headers['content-security-policy']).toBe("img-src 'self'");
  });

  it('--no-proxy turns it off', async () => {
    const up = await upstream(echo);
    const server = await serveFor([up.port], { probe: false, proxy: false });
    const r = await httpGet(server.port, `/proxy/${up.port}/`);
    expect(r.status).toBe(404);
    expect(r.body).toContain('the proxy is turned off');
  });
});
