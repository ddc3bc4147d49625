#!/usr/bin/env node
/**
 * The far end for bench/forward.mjs and bench/tunnel-profile.mjs, run on the host or inside a
 * network namespace, and the client side of its protocol (both benches import it).
 * Reads commands on stdin, one per line, answering each with one JSON line:
 *   listen PORT   → {"port":P,"at":T}   (T: performance.timeOrigin + now(), ms, after listen())
 * Connections: first byte 'U' = upload: count bytes until the client's FIN, then answer the
 * count and end; 'D<n>\n' = download: send n bytes and end; 'P' = ping: echo every byte back
 * at once; 'H' = hold: say nothing.
 * Exits on stdin EOF; bounded to 15 minutes.
 */
import { performance } from 'node:perf_hooks';
import { realpathSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** What uploads and downloads write, 256 KiB at a time. */
export const CHUNK = Buffer.alloc(256 * 1024, 7);

/** Writes `bytes` of CHUNK to `socket`, following its backpressure, then ends it. */
function send(socket, bytes) {
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void socket.once('drain', pump);
    }
    socket.end();
  };
  pump();
}

/** The far end of one connection. */
export function handle(socket) {
  let mode = null;
  let count = 0;
  let head = '';
  socket.on('data', (chunk) => {
    if (mode === null) {
      mode = String.fromCharCode(chunk[0]);
      chunk = chunk.subarray(1);
    }
    if (mode === 'U') count += chunk.length;
    else if (mode === 'P') socket.write(chunk);
    else if (mode === 'D' && head !== null) {
      head += chunk.toString('latin1');
      const nl = head.indexOf('\n');
      if (nl < 0) return;
      const bytes = Number(head.slice(0, nl));
      head = null;
      send(socket, bytes);
    }
  });
  socket.on('end', () => (mode === 'U' ? socket.end(String(count)) : mode === 'D' ? undefined : socket.end()));
  socket.on('error', () => socket.destroy());
}

/** Uploads `bytes` on one connection; resolves when the far end confirms the count. */
export function upload(port, bytes) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let answer = '';
    s.on('connect', () => {
      s.write('U');
      send(s, bytes);
    });
    s.on('data', (d) => (answer += d));
    s.on('end', () => (Number(answer) === bytes ? resolve() : reject(new Error(`far end counted ${answer}, sent ${bytes}`))));
    s.on('error', reject);
  });
}

/** One connection set up: connect + one byte there and back, in ms. */
export function setupOnce(port) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('connect', () => s.write('Px'));
    s.once('data', () => {
      resolve(performance.now() - t);
      s.destroy();
    });
    s.on('error', reject);
  });
}

function serveCommands() {
  setTimeout(() => process.exit(3), 15 * 60_000).unref();
  const servers = [];
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      const [cmd, arg] = line.trim().split(/\s+/);
      if (cmd !== 'listen') return;
      const server = net.createServer({ allowHalfOpen: true }, handle);
      server.listen(Number(arg), '127.0.0.1', () => {
        servers.push(server);
        process.stdout.write(`${JSON.stringify({ port: server.address().port, at: performance.timeOrigin + performance.now() })}\n`);
      });
    })
    .on('close', () => process.exit(0));
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) serveCommands();
