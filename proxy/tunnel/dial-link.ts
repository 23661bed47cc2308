import { connect as netConnect, type Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { socketOptions, type Address } from '../net/address.js';
import { tlsModule } from '../net/tls-module.js';
import type { LinkReads } from './link-reads.js';

/** A dial in progress; cancel() abandons it and closes the socket. */
export interface PendingDial {
  cancel(): void;
}

/**
 * Connects a tunnel link to `address`, over TLS when `tls` is given (the link counts as up only
 * once the handshake verified the server), giving up after `timeoutMs`. A plain TCP link reads
 * through `reads` when given (pooled buffers; see link-reads.ts). Calls `done` exactly once
 * unless cancelled first.
 */
export function dialLink(
  address: Address,
  tls: ConnectionOptions | null,
  timeoutMs: number,
  done: (error: Error | null, socket: Socket | null) => void,
  reads?: LinkReads,
): PendingDial {
  const target = socketOptions(address);
  const socket: Socket = tls
    ? tlsModule().connect({ ...target, ...tls, ...('host' in target && tls.servername === undefined ? { servername: serverName(target.host) } : {}) })
    : netConnect({ ...target, noDelay: true, ...(reads ? { onread: reads.onread } : {}) });
  socket.setNoDelay(true);
  let settled = false;
  const timer = timeoutMs > 0 ? setTimeout(() => finish(Object.assign(new Error(`no link within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs) : null;
  const readyEvent = tls ? 'secureConnect' : 'connect';

  function finish(error: Error | null): void {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    socket.off(readyEvent, onReady);
    socket.off('error', onError);
    if (error) {
      socket.on('error', () => {});
      socket.destroy();
      done(error, null);
    } else {
      done(null, socket);
    }
  }
  const onReady = () => finish(null);
  const onError = (err: Error) => finish(err);
  socket.once(readyEvent, onReady);
  socket.once('error', onError);
  return {
    cancel() {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      socket.on('error', () => {});
      socket.destroy();
    },
  };
}

// SNI must not be an IP address (RFC 6066); the certificate check still uses the host.
function serverName(host: string): string | undefined {
  return /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host;
}
