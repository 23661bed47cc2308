import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { DirectionWindow } from '../windowing/index.js';
import { FastPump } from './fast-pump.js';
import { Pump, resetOrDestroy, type DirectionPump } from './pump.js';
import type { ReadHook } from './read-hook.js';

/** How a relayed connection ended. */
export type RelayEnd =
  | 'closed' // both sides finished cleanly (FIN both ways)
  | 'client-reset'
  | 'target-reset'
  | 'client-error'
  | 'target-error'
  | 'idle-timeout'
  | 'aborted'; // torn down by the owner (shutdown deadline, memory pressure)

/** Counters for one direction. */
export interface DirectionStats {
  bytes: number;
  pauses: number;
  heldBackMs: number;
}

/** What a finished relay reports (one access-log line's worth). */
export interface RelayResult {
  end: RelayEnd;
  durationMs: number;
  clientToTarget: DirectionStats;
  targetToClient: DirectionStats;
  /** The error code or message behind an '-error' or '-reset' end. */
  error?: string;
}

/** Flow-control options for a relay. */
export interface RelayOptions {
  /** Bytes allowed to wait for each side before the other is paused. Default 256 KiB. */
  windowBytes?: number;
  /** Resume threshold; defaults to half the window. */
  lowBytes?: number;
  /** Close after this long with no bytes moving either way; 0 (default) disables. */
  idleTimeoutMs?: number;
  /** When the connection last moved a byte, on the `now` clock, if before this relay began (time spent queued counts as idle). */
  quietSinceMs?: number;
  /** Clock for held-back time, in milliseconds. Default performance.now. */
  now?: () => number;
  /**
   * Read hooks the sides were created with (`onread`), for the allocation-free read path.
   * Without one, that side is read through ordinary 'data' events.
   */
  clientReads?: ReadHook;
  targetReads?: ReadHook;
  /**
   * Builds a direction's pump in place of the default one (e.g. a tunnel stream's CreditPump,
   * which grants credit only once the sink flushed); undefined keeps the default.
   */
  pumpFor?: (direction: 'clientToTarget' | 'targetToClient', source: Duplex, sink: Duplex, window: DirectionWindow, now: () => number) => DirectionPump | undefined;
}

/** Default per-direction window: the yamux stream window, between HAProxy's 16 KiB and Envoy's 1 MiB. */
export const DEFAULT_WINDOW_BYTES = 256 * 1024;

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * Relays bytes both ways between two connected duplex streams (TCP, TLS, unix sockets,
 * in-memory pairs) with per-direction flow control, half-close (FIN passed on as end()),
 * and resets passed on as resets. Sockets are switched to allowHalfOpen so a client that
 * ends its side still receives the reply.
 *
 *   client --> Pump(clientToTarget) --> target
 *   client <-- Pump(targetToClient) <-- target
 */
export class Relay {
  /** Settles once both sides are closed; never rejects. */
  readonly done: Promise<RelayResult>;
  readonly clientToTarget: DirectionPump;
  readonly targetToClient: DirectionPump;
  private readonly now: () => number;
  private readonly startedMs: number;
  private end: RelayEnd | null = null;
  private error: string | undefined;
  private openSides = 2;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastProgress = -1;
  private resolveDone!: (result: RelayResult) => void;

  constructor(
    private readonly client: Duplex,
    private readonly target: Duplex,
    options: RelayOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.startedMs = this.now();
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    const windowBytes = options.windowBytes ?? DEFAULT_WINDOW_BYTES;
    const windowOf = () => new DirectionWindow({ windowBytes, lowBytes: options.lowBytes });
    const pump = (source: Duplex, hook: ReadHook | undefined, sink: Duplex): DirectionPump =>
      hook
        ? new FastPump(source as Socket, hook, sink as Socket, windowOf(), this.now)
        : new Pump(source, sink, windowOf(), this.now);
    this.clientToTarget = options.pumpFor?.('clientToTarget', client, target, windowOf(), this.now) ?? pump(client, options.clientReads, target);
    this.targetToClient = options.pumpFor?.('targetToClient', target, client, windowOf(), this.now) ?? pump(target, options.targetReads, client);

    for (const [side, other, name] of [[client, target, 'client'], [target, client, 'target']] as const) {
      (side as Duplex & { allowHalfOpen: boolean }).allowHalfOpen = true;
      side.on('error', (err: NodeJS.ErrnoException) => this.onSideError(name, other, err));
      side.once('close', this.onSideClose);
      if (side.destroyed) this.onSideClose();
    }
    this.clientToTarget.start();
    this.targetToClient.start();
    const idleTimeoutMs = options.idleTimeoutMs ?? 0;
    if (idleTimeoutMs > 0) this.armIdleTimer(idleTimeoutMs, options.quietSinceMs ?? this.startedMs);
  }

  /** Bytes read but not yet flushed to the other side, both directions. */
  get bufferedBytes(): number {
    return this.clientToTarget.queuedBytes + this.targetToClient.queuedBytes;
  }

  /** True once the relay has finished. */
  get finished(): boolean {
    return this.openSides === 0;
  }

  /** Live counters. */
  stats(): { clientToTarget: DirectionStats; targetToClient: DirectionStats } {
    const now = this.now();
    return { clientToTarget: statsOf(this.clientToTarget, now), targetToClient: statsOf(this.targetToClient, now) };
  }

  /** Tears the relay down now: both sides reset (or destroyed when `reset` is false). */
  abort(end: RelayEnd = 'aborted', reset = true): void {
    this.end ??= end;
    for (const side of [this.client, this.target]) {
      if (side.destroyed) continue;
      if (reset) resetOrDestroy(side);
      else side.destroy();
    }
  }

  private onSideError(name: 'client' | 'target', other: Duplex, err: NodeJS.ErrnoException): void {
    if (this.end === null) {
      const reset = err.code !== undefined && RESET_CODES.has(err.code);
      this.end = `${name}-${reset ? 'reset' : 'error'}`;
      this.error = err.code ?? err.message;
    }
    // A broken side cannot finish cleanly, so the other one learns it as a reset, not a FIN.
    if (!other.destroyed) resetOrDestroy(other);
  }

  private readonly onSideClose = (): void => {
    this.openSides--;
    if (this.openSides > 0) {
      // After FIN both ways the other side closes by itself once its writes flush. Otherwise
      // this side went away without an error event (destroyed by its owner): so must the other.
      const other = this.client.destroyed ? this.target : this.client;
      const cleanlyDone = this.clientToTarget.ended && this.targetToClient.ended;
      if (!cleanlyDone && !other.destroyed) {
        this.end ??= 'aborted';
        resetOrDestroy(other);
      }
      return;
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.clientToTarget.stop();
    this.targetToClient.stop();
    const now = this.now();
    this.resolveDone({
      end: this.end ?? 'closed',
      durationMs: Math.max(0, now - this.startedMs),
      clientToTarget: statsOf(this.clientToTarget, now),
      targetToClient: statsOf(this.targetToClient, now),
      ...(this.error !== undefined ? { error: this.error } : {}),
    });
  };

  // Idle means no byte read or flushed in either direction for a whole period. Checking a
  // progress counter on a timer costs nothing per chunk; a connection that never sends is
  // closed after exactly one period, one that goes quiet within two.
  private armIdleTimer(idleTimeoutMs: number, quietSinceMs: number): void {
    const progress = () =>
      this.clientToTarget.bytesRead + this.targetToClient.bytesRead + this.clientToTarget.deliveredBytes + this.targetToClient.deliveredBytes;
    this.lastProgress = progress();
    const check = (): void => {
      const p = progress();
      if (p !== this.lastProgress) {
        this.lastProgress = p;
        this.idleTimer = setTimeout(check, idleTimeoutMs).unref();
        return;
      }
      this.idleTimer = null;
      this.abort('idle-timeout', false);
    };
    const alreadyQuietMs = Math.max(0, this.startedMs - quietSinceMs);
    this.idleTimer = setTimeout(check, Math.max(0, idleTimeoutMs - alreadyQuietMs));
    this.idleTimer.unref();
  }
}

function statsOf(pump: DirectionPump, now: number): DirectionStats {
  return { bytes: pump.bytesRead, pauses: pump.window.pauses, heldBackMs: pump.window.heldBackMs(now) };
}

/** Relays between two connected duplex streams; see Relay. */
export function relay(client: Duplex, target: Duplex, options: RelayOptions = {}): Relay {
  return new Relay(client, target, options);
}
