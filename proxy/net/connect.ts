import { connect, isIP, type Socket } from 'node:net';
import { Backoff } from '../../windowing/backoff.js';
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
  return new TargetConnect(address, timeoutMs, options, done);
}

/**
 * One connection attempt (with its retries) as one object: a connect is made per client, and four
 * handlers bound to one object of one shape cost less than seven closures over a scope (the
 * backoff is made on the first refusal).
 */
class TargetConnect implements PendingConnect {
  private readonly startedMs = performance.now();
  private readonly retryForMs: number;
  private backoff: Backoff | null = null;
  private socket!: Socket;
  private settled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly timer: NodeJS.Timeout | null;

  constructor(
    private readonly address: Address,
    timeoutMs: number,
    private readonly options: TargetSocketOptions,
    private readonly done: (failure: ConnectFailure | null, socket: Socket | null) => void,
  ) {
    this.retryForMs = Math.min(options.retryRefusedForMs ?? 0, timeoutMs > 0 ? timeoutMs : Infinity);
    this.timer = timeoutMs > 0 ? setTimeout(this.onTimeout, timeoutMs) : null;
    this.attempt();
  }

  cancel(): void {
    if (this.settled) return;
    this.settle();
    this.drop();
  }

  private readonly attempt = (): void => {
    this.retryTimer = null;
    const socket = dial(this.address, this.options);
    this.socket = socket;
    this.options.fds?.track(socket);
    // Read nothing before the relay is ready for it (a server that speaks first waits in the kernel).
    if (this.options.onread) socket.pause();
    // `on`, not `once`: both come off in detach() as soon as either fires, and `once` would wrap each
    // (two objects per connection).
    socket.on('connect', this.onConnect);
    socket.on('error', this.onError);
  };

  private readonly onConnect = (): void => this.finish(null);

  private readonly onTimeout = (): void => this.finish({ end: 'connect-timeout', error: 'timeout' });

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    const code = err.code ?? err.message;
    const delay = (this.backoff ??= new Backoff({ initialMs: 100, maxMs: 1000 })).next((this.options.random ?? Math.random)());
    if (RETRYABLE.has(code) && performance.now() - this.startedMs + delay < this.retryForMs) {
      this.detach();
      this.socket.destroy();
      this.retryTimer = setTimeout(this.attempt, delay);
      return;
    }
    this.finish({ end: 'connect-failed', error: code });
  };

  private finish(failure: ConnectFailure | null): void {
    if (this.settled) return;
    this.settle();
    if (failure) {
      this.drop();
      this.done(failure, null);
    } else {
      this.done(null, this.socket);
    }
  }

  private settle(): void {
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.detach();
  }

  private detach(): void {
    this.socket.off('connect', this.onConnect);
    this.socket.off('error', this.onError);
  }

  // A socket given up on: a late error must not go unhandled.
  private drop(): void {
    this.socket.on('error', noop);
    this.socket.destroy();
  }
}

function noop(): void {}
