/**
 * The host side of one forward: one TCP server per bind address (127.0.0.1, and ::1 when
 * the target listens on IPv6), all on the same port number. The same number as in the
 * target when it is free here — printed URLs and OAuth redirect URIs carry it — else the
 * next free one, said loudly by the caller.
 *
 * Servers are made with pauseOnConnect: a connection's bytes stay in the kernel until its
 * way into the target is open, so nothing is buffered in this process for a slow target.
 */
import net from 'node:net';

/** How far past the wanted port to look for a free one before asking the kernel for any. */
export const NEXT_PORT_TRIES = 100;

export interface HostBinding {
  port: number;
  servers: net.Server[];
  /** The addresses actually bound (an address family the host lacks is left out). */
  addresses: string[];
}

export interface BindRequest {
  addresses: string[];
  wanted: number;
  /** Fail instead of taking another port (devcontainer `requireLocalPort`, `--map`). */
  exact: boolean;
  onConnection: (socket: net.Socket, localAddress: string) => void;
}

export class BindError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function listenOn(address: string, port: number, onConnection: BindRequest['onConnection']): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => onConnection(socket, address));
    server.once('error', reject);
    // exclusive: never share the port with a cluster primary; ipv6Only: ::1 alone is ::1.
    server.listen({ host: address, port, exclusive: true, ipv6Only: address.includes(':') }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function closeAll(servers: net.Server[]): void {
  for (const s of servers) s.close();
}

/** Binds every address on `port`, or none: all or nothing, so the forward has one port number. */
async function bindAll(req: BindRequest, port: number): Promise<HostBinding> {
  const servers: net.Server[] = [];
  const addresses: string[] = [];
  for (const address of req.addresses) {
    try {
      servers.push(await listenOn(address, port, req.onConnection));
      addresses.push(address);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      // A host without IPv6 (or without that address): forward on the rest.
      if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') continue;
      closeAll(servers);
      throw new BindError(`${address}:${port}: ${code}`, code);
    }
    // The kernel chose the first port: bind the other addresses on the same one.
    if (port === 0) port = (servers[0]!.address() as net.AddressInfo).port;
  }
  if (servers.length === 0) throw new BindError(`none of ${req.addresses.join(', ')} can be bound here`, 'EADDRNOTAVAIL');
  return { port: (servers[0]!.address() as net.AddressInfo).port, servers, addresses };
}

/**
 * The wanted port, else (unless `exact`) the next free one within {@link NEXT_PORT_TRIES},
 * else any port the kernel gives. A privileged port we may not bind (EACCES) goes straight
 * to a kernel-chosen one: the ports right after it are privileged too.
 */
export async function bindHostPort(req: BindRequest): Promise<HostBinding> {
  try {
    return await bindAll(req, req.wanted);
  } catch (e) {
    if (!(e instanceof BindError) || req.exact) throw e;
    if (e.code === 'EACCES') return bindAll(req, 0);
    if (e.code !== 'EADDRINUSE') throw e;
  }
  for (let port = req.wanted + 1; port <= Math.min(65535, req.wanted + NEXT_PORT_TRIES); port++) {
    try {
      return await bindAll(req, port);
    } catch (e) {
      if (!(e instanceof BindError) || (e.code !== 'EADDRINUSE' && e.code !== 'EACCES')) throw e;
    }
  }
  return bindAll(req, 0);
}

/** Stops accepting; connections in flight are the caller's to finish or cut. */
export function unbind(binding: HostBinding): void {
  closeAll(binding.servers);
}
