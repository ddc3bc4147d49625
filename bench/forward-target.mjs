#!/usr/bin/env node
/**
 * The far end for bench/forward.mjs, run on the host or inside a network namespace.
 * Reads commands on stdin, one per line, answering each with one JSON line:
 *   listen PORT   → {"port":P,"at":T}   (T: performance.timeOrigin + now(), ms, after listen())
 * Connections: first byte 'U' = upload: count bytes until the client's FIN, then answer the
 * count and end; 'P' = ping: echo every byte back at once; 'H' = hold: say nothing.
 * Exits on stdin EOF; bounded to 15 minutes.
 */
import { performance } from 'node:perf_hooks';
import net from 'node:net';
import { createInterface } from 'node:readline';

setTimeout(() => process.exit(3), 15 * 60_000).unref();
const servers = [];
function handle(socket) {
  let mode = null;
  let count = 0;
  socket.on('data', (chunk) => {
    if (mode === null) {
      mode = String.fromCharCode(chunk[0]);
      chunk = chunk.subarray(1);
    }
    if (mode === 'U') count += chunk.length;
    else if (mode === 'P') socket.write(chunk);
  });
  socket.on('end', () => (mode === 'U' ? socket.end(String(count)) : socket.end()));
  socket.on('error', () => socket.destroy());
}
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
