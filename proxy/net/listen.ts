import type { Server } from 'node:net';
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
 */
export function listenOn(server: Server, address: Address, backlog?: number): Promise<Address> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ ...socketOptions(address), ...(backlog !== undefined ? { backlog } : {}) }, () => {
      server.off('error', reject);
      resolve(listeningAddress(server));
    });
  });
}

/** The address a listening server is on; throws when it is not listening. */
export function listeningAddress(server: Server): Address {
  const a = server.address();
  if (a === null) throw new Error('not listening');
  if (typeof a === 'string') return { kind: 'unix', path: a };
  return { kind: 'tcp', host: a.address, port: a.port };
}
