/**
 * A target that answers with bytes Node cannot pass on (a control character in the reason,
 * a status outside 200–599, a 101 to a plain request) gets the client a 502, and serve goes
 * on: before, res.writeHead threw out of the response handler and the process died.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { waitFor } from '../helpers/processes.js';
import { httpGet } from './helpers.js';
import { closeProxyFixtures, rawTarget, readHead, serveFor } from './proxy-helpers.js';

afterEach(closeProxyFixtures);

const BAD_ANSWERS: Record<string, string> = {
  'control-char-in-reason': 'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok',
  'del-in-reason': 'HTTP/1.1 200 O\x7fK\r\nContent-Length: 2\r\n\r\nok',
  'status-000': 'HTTP/1.1 000 OK\r\nContent-Length: 2\r\n\r\nok',
  'status-099': 'HTTP/1.1 099 OK\r\nContent-Length: 2\r\n\r\nok',
  'status-600': 'HTTP/1.1 600 OK\r\nContent-Length: 2\r\n\r\nok',
  'status-1000': 'HTTP/1.1 1000 OK\r\nContent-Length: 2\r\n\r\nok',
  '101-to-a-plain-request': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  '101-without-upgrade': 'HTTP/1.1 101 Switching Protocols\r\n\r\n',
};

/** A raw target that answers `GET /<case>` with that case's bytes and leaves the connection open. */
async function misbehavingTarget(): Promise<{ port: number }> {
  return rawTarget((socket) => {
    void readHead(socket).then(({ head }) => {
      const name = /^\w+ \/([\w-]+)/.exec(head)?.[1] ?? '';
      socket.write(Buffer.from(BAD_ANSWERS[name] ?? 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine', 'latin1'));
    });
  });
}

/** Sends raw bytes to serve and collects everything it answers until it closes the connection. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (got += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(got));
    socket.setTimeout(10_000, () => socket.destroy(new Error('no close within 10 s')));
    socket.write(bytes);
  });
}

describe('a target that sends an invalid response', () => {
  it('gets each request a 502 "upstream sent an invalid response", and serve goes on answering', async () => {
    const target = await misbehavingTarget();
    const server = await serveFor([target.port]);
    for (const name of Object.keys(BAD_ANSWERS)) {
      const r = await httpGet(server.port, `/proxy/${target.port}/${name}`);
      expect({ name, status: r.status }).toEqual({ name, status: 502 });
      expect(r.body).toContain('upstream sent an invalid response');
      expect((await httpGet(server.port, '/healthz')).status).toBe(200);
    }
    // The subdomain form goes the same way.
    const sub = await httpGet(server.port, '/control-char-in-reason', { headers: { host: `p${target.port}.localhost:${server.port}` } });
    expect(sub.status).toBe(502);
    expect((await httpGet(server.port, `/proxy/${target.port}/fine`)).body).toBe('fine');
    const metrics = await server.metrics.registry.getSingleMetricAsString('portwatch_proxy_requests_total');
    expect(metrics).toMatch(new RegExp(`status="502"\\} ${Object.keys(BAD_ANSWERS).length + 1}\\b`));
  });

  it('answers an upgrade the target answers with a malformed 101 or a bad status with 502, and goes on', async () => {
    const target = await rawTarget((socket) => {
      void readHead(socket).then(({ head }) =>
        socket.write(
          head.includes('/bad-101')
            ? 'HTTP/1.1 101 Sw\x01tching\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'
            : 'HTTP/1.1 000 Nope\r\nContent-Length: 0\r\n\r\n',
          'latin1',
        ),
      );
    });
    const server = await serveFor([target.port]);
    for (const path of ['bad-101', 'status-000']) {
      const answer = await rawExchange(
        server.port,
        `GET /proxy/${target.port}/${path} HTTP/1.1\r\nHost: localhost:${server.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      expect(answer).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
      expect(answer).toContain('upstream sent an invalid response');
      expect(answer).not.toContain('\x01');
    }
    // A real WebSocket client sees the refusal as one.
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/proxy/${target.port}/bad-101`);
    ws.on('error', () => {});
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(502);
    await waitFor(async () => (await httpGet(server.port, '/healthz')).status === 200, 'serve to answer /healthz');
  });
});
