import { connect, isIP, type Socket } from 'node:net';
import { Backoff } from '../../windowing/index.js';
import { socketOptions, type Address } from './address.js';
import type { FdReserve } from './fd-reserve.js';
import { asSocket, leanTcp } from './lean-socket.js';

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

/** Node's `onread` socket option: the buffer each read lands in, and what to do with a read. */
export interface OnreadOption {
  buffer: () => Buffer;
  callback: (bytes: number, buffer: Buffer) => boolean;
}

/** Socket options every target connection gets. */
export interface TargetSocketOptions {
  /** Node's writable high-water mark: write() returns false past it. */
  writableHighWaterMark?: number;
  /** Node's `onread` option (read into buffers the caller chooses); the socket then stays paused until read. */
  onread?: OnreadOption;
  /**
   * A refused connection (a target restarting) is tried again with backoff (100 ms, 200 ms, ...,
   * +/-20%) for up to this long, never past the connect timeout; 0 (default) gives up at once.
   */
  retryRefusedForMs?: number;
  /** Random numbers for the backoff's jitter (tests pass a fixed one). */
  random?: () => number;
  /** Counts each socket in this descriptor budget while it is open (the data plane's reserve check reads it). */
  fds?: FdReserve;
}

/**
 * A socket connecting to `address`: on the onread path to an IP address, a LeanSocket (no stream
 * machinery; see lean-socket.ts); otherwise a net.Socket.
 */
function dial(address: Address, options: TargetSocketOptions): Socket {
  if (options.onread && leanTcp && address.kind === 'tcp' && isIP(address.host) !== 0) {
    const lean = leanTcp.connect(address.host, address.port, options.writableHighWaterMark);
    lean.setOnread(options.onread);
    lean.setNoDelay(true);
    return asSocket(lean);
  }
  return connect({
    ...socketOptions(address),
    allowHalfOpen: true,
    noDelay: true,
    ...(options.writableHighWaterMark !== undefined ? { writableHighWaterMark: options.writableHighWaterMark } : {}),
    ...(options.onread ? { onread: options.onread } : {}),
  });
}

// Errors that mean "nobody is listening right now", worth a retry while a target restarts.
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET']);

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
  const startedMs = performance.now();
  const retryForMs = Math.min(options.retryRefusedForMs ?? 0, timeoutMs > 0 ? timeoutMs : Infinity);
  const backoff = new Backoff({ initialMs: 100, maxMs: 1000 });
  const random = options.random ?? Math.random;
  let socket: Socket;
  let settled = false;
  let retryTimer: NodeJS.Timeout | null = null;
  const timer = timeoutMs > 0 ? setTimeout(() => finish({ end: 'connect-timeout', error: 'timeout' }), timeoutMs) : null;

  const attempt = (): void => {
    retryTimer = null;
    socket = dial(address, options);
    options.fds?.track(socket);
    // Read nothing before the relay is ready for it (a server that speaks first waits in the kernel).
    if (options.onread) socket.pause();
    socket.once('connect', onConnect);
    socket.once('error', onError);
  };

  function detach(): void {
    socket.off('connect', onConnect);
    socket.off('error', onError);
  }

  function finish(failure: ConnectFailure | null): void {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    if (retryTimer) clearTimeout(retryTimer);
    detach();
    if (failure) {
      socket.on('error', () => {});
      socket.destroy();
      done(failure, null);
    } else {
      done(null, socket);
    }
  }
  const onConnect = () => finish(null);
  const onError = (err: NodeJS.ErrnoException) => {
    const code = err.code ?? err.message;
    const delay = backoff.next(random());
    if (RETRYABLE.has(code) && performance.now() - startedMs + delay < retryForMs) {
      detach();
      socket.destroy();
      retryTimer = setTimeout(attempt, delay);
      return;
    }
    finish({ end: 'connect-failed', error: code });
  };
  attempt();

  return {
    cancel() {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (retryTimer) clearTimeout(retryTimer);
      detach();
      socket.on('error', () => {});
      socket.destroy();
    },
  };
}
