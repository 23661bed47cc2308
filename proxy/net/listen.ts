import { lstatSync, unlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { socketOptions, type Address } from './address.js';

/**
 * Accept queue for the sidecars' listeners: a burst of connects past Node's default 511 would
 * otherwise see its SYNs dropped and retried a second later (the kernel caps it at
 * net.core.somaxconn).
 */
export const LISTEN_BACKLOG = 4096;

/**
 * Starts a server listening; resolves with the real address (the actual port when 0 was asked),
 * rejects with the listen error (address in use, permission denied) and leaves no listener behind.
 * A unix socket file left by a process that died without closing it (kill -9) is taken over: in
 * use only while something answers on it.
 */
export async function listenOn(server: Server, address: Address, backlog?: number): Promise<Address> {
  try {
    return await listenOnce(server, address, backlog);
  } catch (err) {
    if (address.kind !== 'unix' || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !(await isStaleSocket(address.path))) throw err;
    unlinkSync(address.path);
    return listenOnce(server, address, backlog);
  }
}

function listenOnce(server: Server, address: Address, backlog?: number): Promise<Address> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ ...socketOptions(address), ...(backlog !== undefined ? { backlog } : {}) }, () => {
      server.off('error', reject);
      resolve(listeningAddress(server));
    });
  });
}

// A socket file nobody listens on: connecting is refused (ECONNREFUSED). Anything else (a file
// that is not a socket, a live listener, no permission) leaves it alone.
async function isStaleSocket(path: string): Promise<boolean> {
  try {
    if (!lstatSync(path).isSocket()) return false;
  } catch {
    return false;
  }
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** The address a listening server is on; throws when it is not listening. */
export function listeningAddress(server: Server): Address {
  const a = server.address();
  if (a === null) throw new Error('not listening');
  if (typeof a === 'string') return { kind: 'unix', path: a };
  return { kind: 'tcp', host: a.address, port: a.port };
}
