import { Socket } from 'node:net';
import type { ReadHook } from './read-hook.js';

/**
 * Gives an accepted socket the allocation-free read path. Node offers `onread` only to sockets
 * it creates for `net.connect`/`new net.Socket`, not to sockets a server accepts, so this takes
 * the handle of a socket accepted with `pauseOnConnect` (not yet reading) and wraps it in a new
 * Socket that reads through `hook`. It leans on Node internals (`_handle`), so it is the one
 * place that does, and it returns null when they are not as expected: the caller then keeps the
 * accepted socket and its ordinary 'data' path.
 */
export function adoptWithReadHook(accepted: Socket, hook: Pick<ReadHook, 'onread'>, writableHighWaterMark?: number): Socket | null {
  const internal = accepted as Socket & { _handle?: { readStart?: unknown; useUserBuffer?: unknown; reading?: boolean } | null };
  const handle = internal._handle;
  if (!handle || typeof handle.readStart !== 'function' || typeof handle.useUserBuffer !== 'function' || handle.reading) {
    return null;
  }
  internal._handle = null;
  // With no handle left, destroy() only releases the server's count of this connection.
  accepted.destroy();
  const options = {
    handle,
    allowHalfOpen: true,
    readable: true,
    writable: true,
    pauseOnCreate: true, // not reading until the relay starts
    onread: hook.onread,
    ...(writableHighWaterMark !== undefined ? { writableHighWaterMark } : {}),
  };
  const socket = new Socket(options as ConstructorParameters<typeof Socket>[0]);
  socket.setNoDelay(true);
  return socket;
}
