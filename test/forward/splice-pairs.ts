/**
 * Real loopback socket pairs for the splice relay tests, and a small reader with a deadline.
 */
import net from 'node:net';

const opened: net.Socket[] = [];
const servers: net.Server[] = [];

/** Destroys every socket and server made here; call from afterEach. */
export function closePairs(): void {
  for (const s of opened.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
}

/** A connected pair on loopback: [the connecting side, the accepted side (paused, as a forward accepts)]. */
export async function pair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const other = await accepted;
  server.close();
  opened.push(client, other);
  return [client, other];
}

/** A server whose accepted connections go to `onConnection` (paused); closed by closePairs(). */
export async function serve(onConnection: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
    opened.push(s);
    onConnection(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** Everything `s` sends until its end (rejects on an error or at the deadline). */
export function readToEnd(s: net.Socket, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error(`no end within ${timeoutMs} ms (${Buffer.concat(chunks).length} bytes)`)), timeoutMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    s.resume();
  });
}

/** How `s` ends: 'end' for a FIN, else the error's code (ECONNRESET). */
export function howItEnds(s: net.Socket, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    const done = (how: string): void => {
      clearTimeout(timer);
      resolve(how);
    };
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    s.once('end', () => done('end'));
    s.resume();
  });
}
