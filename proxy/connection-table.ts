import type { Duplex } from 'node:stream';
import { Admission } from '../windowing/index.js';
import type { AccessLogEntry, ConnectionRefusal } from './access-log.js';
import { CreditPump } from './credit-pump.js';
import type { MetricsRegistry } from './metrics.js';
import { resetOrDestroy } from './pump.js';
import type { ReadHook } from './read-hook.js';
import { Relay, type RelayResult } from './relay.js';
import { TunnelStream } from './tunnel-stream.js';

/**
 * The connection bookkeeping both tunnel sidecars share: admission (at most `maxConns` onward
 * connections, the rest waiting in a bounded FIFO queue with a timeout), one onward side per
 * admitted connection, a Relay between the two, one access-log entry per finished connection,
 * totals and the connection metrics (the relay's names), and a graceful drain.
 *
 *   arrive(client, open) --> Admission --admit--> open(done) --> Relay(client, onward) --> finish
 *                              | queue: timer        | failure: refuse           log, release slot,
 *                              +-- reject when full  +-> (client closed/reset)   admit the next
 *
 * A "client" is whatever arrived (an accepted socket for tunnel-client, a tunnel stream for
 * tunnel-server), the "onward" side is what it is connected to (a tunnel stream, a target socket).
 * Whichever side is a TunnelStream is read by a CreditPump, so the peer earns credit only for bytes
 * the other side flushed.
 */

/** Why the onward side could not be had. */
export interface OnwardFailure {
  end: ConnectionRefusal;
  /** errno code, refusal reason or 'timeout'. */
  error?: string;
  /** Reset the client rather than close it. */
  reset?: boolean;
}

/** Starts the onward side; calls `done` exactly once unless cancelled; returns the cancel function. */
export type OnwardOpener = (done: (failure: OnwardFailure | null, onward: Duplex | null, reads?: ReadHook) => void) => () => void;

/** Limits and hooks of a table. */
export interface ConnectionTableOptions {
  /** What the access log names as the target. */
  targetText: string;
  /** Most onward connections at once; 0 = no limit. */
  maxConns: number;
  maxQueue: number;
  queueTimeoutMs: number;
  /** No bytes either way for this long closes a connection (queued time counts); 0 disables. */
  idleTimeoutMs: number;
  /** Once one side ended (FIN), the other has this long to finish before both are closed; 0 disables. */
  halfCloseTimeoutMs?: number;
  /** Relay window per direction for the side read by an ordinary pump. */
  windowBytes: number;
  onAccessLog?: (entry: AccessLogEntry) => void;
  now: () => number;
}

interface Connection {
  id: number;
  client: Duplex;
  clientAddress: string;
  clientReads: ReadHook | undefined;
  acceptedMs: number;
  timer: NodeJS.Timeout | null;
  cancel: (() => void) | null;
  open: OnwardOpener;
  relay: Relay | null;
  onEarlyClose: () => void;
}

interface DirectionTotals {
  bytes: number;
  pauses: number;
  heldBackMs: number;
}

/** See the module comment. */
export class ConnectionTable {
  private readonly connections = new Set<Connection>();
  private readonly admission: Admission<Connection>;
  private nextId = 1;
  private closing = false;
  private idleWaiters: (() => void)[] = [];
  private acceptedTotal = 0;
  private readonly endedTotal = new Map<string, number>();
  private readonly up: DirectionTotals = { bytes: 0, pauses: 0, heldBackMs: 0 };
  private readonly down: DirectionTotals = { bytes: 0, pauses: 0, heldBackMs: 0 };

  constructor(private readonly options: ConnectionTableOptions) {
    this.admission = new Admission({ maxActive: options.maxConns, maxQueued: options.maxQueue });
  }

  /** Connections holding a slot (opening or relaying). */
  get active(): number {
    return this.admission.active;
  }

  /** Connections waiting for a slot. */
  get queued(): number {
    return this.admission.queued;
  }

  /** Connections known, whatever their phase. */
  get size(): number {
    return this.connections.size;
  }

  /** Takes a new connection: admits, queues or refuses it. */
  arrive(client: Duplex, clientAddress: string, open: OnwardOpener, clientReads?: ReadHook): void {
    this.acceptedTotal++;
    const conn: Connection = {
      id: this.nextId++,
      client,
      clientAddress,
      clientReads,
      acceptedMs: this.options.now(),
      timer: null,
      cancel: null,
      open,
      relay: null,
      onEarlyClose: () => this.onEarlyClose(conn),
    };
    this.connections.add(conn);
    client.on('error', noop); // a reset while waiting shows up as 'close'; handled there
    client.once('close', conn.onEarlyClose);
    if (this.closing) return this.refuse(conn, 'shutdown', false);

    const verdict = this.admission.arrive(conn);
    if (verdict === 'admit') return this.start(conn);
    if (verdict === 'reject') return this.refuse(conn, 'queue-full', false);
    const idle = this.options.idleTimeoutMs;
    const useIdle = idle > 0 && idle < this.options.queueTimeoutMs;
    conn.timer = setTimeout(() => {
      conn.timer = null;
      if (this.admission.leave(conn)) this.refuse(conn, useIdle ? 'idle-timeout' : 'queue-timeout', false);
    }, useIdle ? idle : this.options.queueTimeoutMs);
  }

  /** Live totals per direction (client to target = up), finished connections included. */
  stats(): { clientToTarget: DirectionTotals; targetToClient: DirectionTotals } {
    const up = { ...this.up };
    const down = { ...this.down };
    for (const c of this.connections) {
      if (!c.relay) continue;
      const s = c.relay.stats();
      add(up, s.clientToTarget.bytes, s.clientToTarget.pauses, s.clientToTarget.heldBackMs);
      add(down, s.targetToClient.bytes, s.targetToClient.pauses, s.targetToClient.heldBackMs);
    }
    return { clientToTarget: up, targetToClient: down };
  }

  /** Bytes read but not yet flushed to the other side, over all connections. */
  bufferedBytes(): number {
    let total = 0;
    for (const c of this.connections) if (c.relay) total += c.relay.bufferedBytes;
    return total;
  }

  /**
   * Stops admitting (new arrivals are refused), lets connections finish for up to
   * `drainTimeoutMs`, then resets what is left; resolves once every connection is gone.
   */
  async shutdown(drainTimeoutMs: number): Promise<void> {
    this.closing = true;
    for (const c of [...this.connections]) if (!c.relay && c.timer) this.refuse(c, 'shutdown', false);
    if (this.connections.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)));
    await Promise.race([this.whenIdle(), deadline]);
    clearTimeout(timer);
    this.abortAll();
    await this.whenIdle();
  }

  /** Resets every connection now. */
  abortAll(): void {
    for (const c of [...this.connections]) {
      if (c.relay) c.relay.abort('aborted', true);
      else this.refuse(c, 'shutdown', true);
    }
  }

  /** Adds the connection metrics (the relay server's names) to a registry. */
  registerMetrics(registry: MetricsRegistry): void {
    const byDirection = (pick: (t: DirectionTotals) => number) => () => {
      const { clientToTarget, targetToClient } = this.stats();
      return [
        { labels: { direction: 'client_to_target' }, value: pick(clientToTarget) },
        { labels: { direction: 'target_to_client' }, value: pick(targetToClient) },
      ];
    };
    registry.gauge('sluice_connections_active', 'Connections holding a slot toward the target (connecting or relaying).', () => this.admission.active);
    registry.gauge('sluice_connections_queued', 'Connections waiting for a slot toward the target.', () => this.admission.queued);
    registry.counter('sluice_connections_total', 'Connections accepted (tunnel streams, for tunnel-server).', () => this.acceptedTotal);
    registry.counter('sluice_connections_closed_total', 'Finished connections by how they ended.', () =>
      [...this.endedTotal].map(([end, value]) => ({ labels: { end }, value })),
    );
    registry.counter('sluice_bytes_total', 'Bytes relayed, by direction.', byDirection((t) => t.bytes));
    registry.gauge('sluice_bytes_buffered', 'Bytes read but not yet flushed to the other side.', () => this.bufferedBytes());
    registry.counter('sluice_pauses_total', 'Times a side fell a window behind, by direction of the held-back data.', byDirection((t) => t.pauses));
    registry.counter('sluice_held_back_seconds_total', 'Time sides spent a window behind, by direction.', byDirection((t) => t.heldBackMs / 1000));
  }

  private start(conn: Connection): void {
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = null;
    conn.cancel = conn.open((failure, onward, reads) => {
      conn.cancel = null;
      if (failure || !onward) {
        this.releaseSlot();
        return this.refuse(conn, failure?.end ?? 'connect-failed', failure?.reset ?? false, failure?.error);
      }
      if (!this.connections.has(conn)) {
        // The client went away meanwhile (the opener could not be cancelled in time).
        resetOrDestroy(onward);
        return;
      }
      this.startRelay(conn, onward, reads);
    });
  }

  private startRelay(conn: Connection, onward: Duplex, onwardReads: ReadHook | undefined): void {
    conn.client.off('close', conn.onEarlyClose);
    conn.client.off('error', noop);
    conn.relay = new Relay(conn.client, onward, {
      windowBytes: this.options.windowBytes,
      idleTimeoutMs: this.options.idleTimeoutMs,
      halfCloseTimeoutMs: this.options.halfCloseTimeoutMs ?? 0,
      quietSinceMs: conn.acceptedMs,
      now: this.options.now,
      ...(conn.clientReads ? { clientReads: conn.clientReads } : {}),
      ...(onwardReads ? { targetReads: onwardReads } : {}),
      pumpFor: creditPumpFor,
    });
    conn.client.resume();
    void conn.relay.done.then((result) => this.onRelayDone(conn, result));
  }

  private onRelayDone(conn: Connection, result: RelayResult): void {
    const up = result.clientToTarget;
    const down = result.targetToClient;
    add(this.up, up.bytes, up.pauses, up.heldBackMs);
    add(this.down, down.bytes, down.pauses, down.heldBackMs);
    this.finish(conn, {
      id: conn.id,
      client: conn.clientAddress,
      target: this.options.targetText,
      bytesUp: up.bytes,
      bytesDown: down.bytes,
      durationMs: this.options.now() - conn.acceptedMs,
      end: result.end,
      heldBackUpMs: up.heldBackMs,
      heldBackDownMs: down.heldBackMs,
      ...(result.error !== undefined ? { error: result.error } : {}),
    });
    this.releaseSlot();
  }

  // The client went away before relaying began.
  private onEarlyClose(conn: Connection): void {
    if (!this.connections.has(conn)) return;
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = null;
    const wasQueued = this.admission.leave(conn);
    if (conn.cancel) {
      conn.cancel();
      conn.cancel = null;
    }
    this.finish(conn, this.emptyEntry(conn, 'client-reset'));
    if (!wasQueued) this.releaseSlot();
  }

  private refuse(conn: Connection, end: AccessLogEntry['end'], reset: boolean, error?: string): void {
    if (!this.connections.has(conn)) return;
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = null;
    if (conn.cancel) {
      conn.cancel();
      conn.cancel = null;
    }
    conn.client.off('close', conn.onEarlyClose);
    this.finish(conn, { ...this.emptyEntry(conn, end), ...(error !== undefined ? { error } : {}) });
    if (reset) resetOrDestroy(conn.client);
    else conn.client.destroy();
  }

  private releaseSlot(): void {
    for (const next of this.admission.release()) this.start(next);
  }

  private emptyEntry(conn: Connection, end: AccessLogEntry['end']): AccessLogEntry {
    return {
      id: conn.id,
      client: conn.clientAddress,
      target: this.options.targetText,
      bytesUp: 0,
      bytesDown: 0,
      durationMs: this.options.now() - conn.acceptedMs,
      end,
      heldBackUpMs: 0,
      heldBackDownMs: 0,
    };
  }

  private finish(conn: Connection, entry: AccessLogEntry): void {
    this.connections.delete(conn);
    this.endedTotal.set(entry.end, (this.endedTotal.get(entry.end) ?? 0) + 1);
    this.options.onAccessLog?.(entry);
    if (this.connections.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private whenIdle(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

/** A tunnel stream is read by a CreditPump (credit once flushed onward); anything else by the default pump. */
function creditPumpFor(
  _direction: 'clientToTarget' | 'targetToClient',
  source: Duplex,
  sink: Duplex,
  window: ConstructorParameters<typeof CreditPump>[2],
  now: () => number,
): CreditPump | undefined {
  return source instanceof TunnelStream && source.credit === 'manual' ? new CreditPump(source, sink, window, now) : undefined;
}

function add(t: DirectionTotals, bytes: number, pauses: number, heldBackMs: number): void {
  t.bytes += bytes;
  t.pauses += pauses;
  t.heldBackMs += heldBackMs;
}

function noop(): void {}
