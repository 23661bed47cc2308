import { connect, type Socket } from 'node:net';
import { socketOptions, type Address } from './address.js';
import type { ReadHook } from './read-hook.js';

/** Why a connection to the target could not be made. */
export interface ConnectFailure {
  end: 'connect-failed' | 'connect-timeout';
  /** errno code (ECONNREFUSED, ...) or 'timeout'. */
  error: string;
}

/** A connection attempt in progress; cancel() abandons it and closes the socket. */
export interface PendingConnect {
  cancel(): void;
}

/** Socket options every target connection gets. */
export interface TargetSocketOptions {
  /** Node's writable high-water mark: write() returns false past it. */
  writableHighWaterMark?: number;
  /** Read through this hook (allocation-free path); the socket stays paused until a pump starts it. */
  readHook?: ReadHook;
}

/**
 * Connects to `address`, giving up after `timeoutMs` (a target that never answers a SYN would
 * otherwise hold the client for the kernel's ~2 minutes). Calls `done` exactly once, unless
 * cancelled first.
 */
export function connectTarget(
  address: Address,
  timeoutMs: number,
  options: TargetSocketOptions,
  done: (failure: ConnectFailure | null, socket: Socket | null) => void,
): PendingConnect {
  const socket = connect({
    ...socketOptions(address),
    allowHalfOpen: true,
    noDelay: true,
    ...(options.writableHighWaterMark !== undefined ? { writableHighWaterMark: options.writableHighWaterMark } : {}),
    ...(options.readHook ? { onread: options.readHook.onread } : {}),
  });
  // Read nothing before the relay is ready for it (a server that speaks first waits in the kernel).
  if (options.readHook) socket.pause();
  let settled = false;
  const timer = timeoutMs > 0 ? setTimeout(() => finish({ end: 'connect-timeout', error: 'timeout' }), timeoutMs) : null;

  function finish(failure: ConnectFailure | null): void {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    socket.off('connect', onConnect);
    socket.off('error', onError);
    if (failure) {
      socket.destroy();
      done(failure, null);
    } else {
      done(null, socket);
    }
  }
  const onConnect = () => finish(null);
  const onError = (err: NodeJS.ErrnoException) => finish({ end: 'connect-failed', error: err.code ?? err.message });
  socket.once('connect', onConnect);
  socket.once('error', onError);

  return {
    cancel() {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      socket.on('error', () => {});
      socket.destroy();
    },
  };
}
