import type { Duplex } from 'node:stream';
import { Admission } from '../../windowing/admission.js';
import type { ClientEndpoint } from '../net/address.js';
import { resetOrDestroy } from '../net/reset.js';
import type { Direction, SourceReader } from '../pipeline/index.js';
import { ProxyHeaderReader, type ProxyHeaderOutcome } from '../reads/proxy-header-reader.js';
import { StreamReader } from '../reads/stream-reader.js';
import type { MetricsRegistry } from '../signals/metrics.js';
import { busiestFirst, type ConnectionPhase, type ConnectionView, type ConnectionsPage, type StreamView } from '../signals/connections-view.js';
import { directionView, messagesView } from './connection-view.js';
import type { AccessLogEntry, ConnectionRefusal } from './access-log.js';
import type { ProxyHeader } from '../../windowing/proxy-protocol/header.js';
import type { ProxyProtocol } from './proxy-protocol.js';
import { Relay, WheelTimers, wheelTickMs, type RelayOptions, type RelayResult } from './relay.js';
import type { ListenerAccounting } from '../net/accept-guard.js';

/**
 * The connection bookkeeping every sidecar shares (relay, tunnel-client, tunnel-server):
 * admission (at most `maxConns` onward connections, the rest waiting in a bounded FIFO queue),
 * one onward side per admitted connection, a Relay between the two, one access-log entry per
 * finished connection, totals and the connection metrics, and a graceful drain.
 *
 *   arrive(client, open) --> [PROXY header] --> gate --> Admission --admit--> open(done) --> Relay(client, onward) --> finish
 *                              | deadline,         | queue: timer        | failure: refuse  [header sent first]  log, release slot,
 *                              | trusted sources   +-- reject when full  +-> (client closed/reset)               admit the next
 *
 * A "client" is whatever arrived (an accepted socket, a tunnel stream), the "onward" side is what
 * it is connected to (a target socket, a tunnel stream). Whoever brings a side brings the reader it
 * is read by (pooled read blocks for a socket, credit for a tunnel stream); without one, 'data' events.
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
export type OnwardOpener = (done: (failure: OnwardFailure | null, onward: Duplex | null, reader?: SourceReader) => void) => () => void;

/** Limits and hooks of a table. */
/** The connection limits, timeouts, logs and accept accounting every sidecar (relay, tunnel-client, tunnel-server) takes. */
export interface SidecarConnectionOptions extends ListenerAccounting {
  /** Deadline for the onward connection: the target, or for tunnel-client a link (TCP connect plus TLS handshake). */
  connectTimeoutMs?: number;
  /** No bytes either way for this long closes the connection (queued time counts); 0 disables. */
  idleTimeoutMs?: number;
  /** After one side's FIN, the other has this long to finish (default 5 min, yamux's stream close timeout); 0 disables. */
  halfCloseTimeoutMs?: number;
  /** Most onward connections at once; 0 = no limit. */
  maxConns?: number;
  /** Most clients waiting for a slot. */
  maxQueue?: number;
  queueTimeoutMs?: number;
  /** Called once per finished connection. */
  onAccessLog?: (entry: AccessLogEntry) => void;
  /** Clock in milliseconds (default performance.now). */
  now?: () => number;
  /**
   * 'onread' (default): plain TCP sockets read into pooled blocks (see reads/onread-reader.ts);
   * 'stream': ordinary 'data' events, the path any duplex takes. Both have the same flow control.
   */
  readPath?: 'onread' | 'stream';
  /** Every client connection must start with a PROXY protocol header (v1 or v2); its addresses are the client's from then on. */
  acceptProxy?: boolean;
  /** Only sources in these prefixes (`10.0.0.0/8,::1,unix`) may send a header; others are closed. Implies acceptProxy. */
  acceptProxyFrom?: string;
  /** The whole header must arrive within this long (default 3 s). */
  proxyHeaderTimeoutMs?: number;
  /** Write a PROXY header (v1 or v2) to the target at the start of each connection. */
  sendProxy?: 'v1' | 'v2';
}

/** What a table's owner adds to each relay it starts: every key present, one shape for all connections. */
export interface ConnectionRelayOptions {
  budget: RelayOptions['budget'];
  onResume: RelayOptions['onResume'];
  rateBytesPerS: RelayOptions['rateBytesPerS'];
  messages: RelayOptions['messages'];
  beforeStart: RelayOptions['beforeStart'];
}

export interface ConnectionTableOptions {
  /** What the access log names as the target. */
  targetText: string;
  /** The proxy's name under `sluice serve`, carried by every access-log entry. */
  proxyName?: string;
  /** Most onward connections at once; 0 = no limit. */
  maxConns: number;
  maxQueue: number;
  queueTimeoutMs: number;
  /** No bytes either way for this long closes a connection (queued time counts); 0 disables. */
  idleTimeoutMs: number;
  /** Once one side ended (FIN), the other has this long to finish before both are closed; 0 disables. */
  halfCloseTimeoutMs?: number;
  /** Relay window per direction. */
  windowBytes: number;
  onAccessLog?: (entry: AccessLogEntry) => void;
  now: () => number;
  /** Asked for each arrival: a reason to turn it away at once (overloaded), or null. */
  gate?: () => ConnectionRefusal | null;
  /** Further relay options (budget, message mode, rate, toxics), per connection. */
  relayOptions?: () => ConnectionRelayOptions;
  /** Told of every relay that finished (for counters beyond the table's own). */
  onFinished?: (result: RelayResult) => void;
  /** PROXY protocol: a header read from every client first, and/or one written to every onward side. */
  proxyProtocol?: ProxyProtocol;
  /** Where connection ids come from (default: a sequence of this table's own, from 1). */
  ids?: ConnectionIds;
  /** For `/connections`: the tunnel stream a side is, with its windows (the tunnel sidecars say; the relay never knows streams). */
  streamOf?: (side: Duplex) => Omit<StreamView, 'side'> | null;
}

type Phase = ConnectionPhase;

interface Connection {
  id: number;
  client: Duplex;
  /** Until the relay starts (then NO_ENDPOINT: the access log and listings use clientAddress). */
  endpoint: ClientEndpoint;
  /** How the access log names the client (a PROXY header's source once one was read). */
  clientAddress: string;
  clientReader: SourceReader;
  /** The PROXY header the client sent, with --accept-proxy. */
  proxyHeader: ProxyHeader | null;
  acceptedMs: number;
  phase: Phase;
  timer: NodeJS.Timeout | null;
  cancel: (() => void) | null;
  open: OnwardOpener;
  relay: Relay | null;
  /** The onward side, once open. */
  onward: Duplex | null;
  /** Listens for the client closing before its relay starts (then dropped: noop). */
  onEarlyClose: () => void;
  /** When the client first sent bytes while it waited (null: silent so far). */
  heardAtMs: number | null;
}

/** One connection as plain figures (the control API, the live page). */
export interface ConnectionSummary {
  id: number;
  client: string;
  target: string;
  phase: string;
  ageMs: number;
  bytesUp: number;
  bytesDown: number;
}

/** Per-direction totals of finished connections; live ones are added at read time. */
export interface DirectionTotals {
  bytes: number;
  pauses: number;
  heldBackMs: number;
}

/**
 * A paused connection counts toward pressure when its pauses are long: the one in progress has
 * lasted this long, or the one before it did. A pause lasts as long as the slow side takes to
 * drain half a window, so this is the queueing delay sluice is adding (CoDel calls it sojourn
 * time). A transfer at full speed into a fast target is paused often but for well under a
 * millisecond each time; that is flow control working, not pressure.
 */
const SLOW_PAUSE_MS = 50;

/**
 * How long the slot of a connection sluice closed itself stays taken after the close: the
 * onward side has only just been told, and a target that handles its close and a new connection
 * in the same turn of its event loop would otherwise briefly hold one more than maxConns.
 */
const SLOT_COOLDOWN_MS = 20;

/** See the module comment. */
export class ConnectionTable {
  private readonly connections = new Set<Connection>();
  private readonly admission: Admission<Connection>;
  private readonly cooldowns = new Set<NodeJS.Timeout>();
  private readonly ids: ConnectionIds;
  private closing = false;
  private idleWaiters: (() => void)[] = [];
  private acceptedTotal = 0;
  private readonly endedTotal = new Map<string, number>();
  private readonly up: DirectionTotals = { bytes: 0, pauses: 0, heldBackMs: 0 };
  private readonly down: DirectionTotals = { bytes: 0, pauses: 0, heldBackMs: 0 };

  /** The wheel every relay's idle and half-close timeouts share (null when both are off). */
  private readonly timers: WheelTimers | null;

  constructor(private readonly options: ConnectionTableOptions) {
    this.admission = new Admission({ maxActive: options.maxConns, maxQueued: options.maxQueue });
    this.ids = options.ids ?? new ConnectionIds();
    const timeouts = [options.idleTimeoutMs, options.halfCloseTimeoutMs ?? 0].filter((ms) => ms > 0);
    this.timers = timeouts.length > 0 ? new WheelTimers(wheelTickMs(Math.min(...timeouts)), options.now) : null;
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

  /** The relays running now. */
  *relays(): IterableIterator<Relay> {
    for (const c of this.connections) if (c.relay) yield c.relay;
  }

  /** Relaying connections, and how many of them a slow drain holds back (for pressure). */
  relayingConnections(): { total: number; heldBack: number } {
    let total = 0;
    let heldBack = 0;
    const now = this.options.now();
    for (const relay of this.relays()) {
      total++;
      if (slowPause(relay.clientToTarget, now) || slowPause(relay.targetToClient, now)) heldBack++;
    }
    return { total, heldBack };
  }

  /** Moves the limit on onward connections (adaptive concurrency); a raise admits waiters at once. */
  setLimit(limit: number): void {
    for (const next of this.admission.setLimit(limit)) this.start(next);
  }

  /** Up to `limit` connections (oldest first) as plain figures, and how many there are. */
  list(limit: number): { total: number; connections: ConnectionSummary[] } {
    const now = this.options.now();
    const out: ConnectionSummary[] = [];
    for (const c of this.connections) {
      if (out.length >= limit) break;
      const s = c.relay?.stats();
      out.push({
        id: c.id,
        client: c.clientAddress,
        target: this.options.targetText,
        phase: c.phase,
        ageMs: Math.max(0, now - c.acceptedMs),
        bytesUp: s?.clientToTarget.bytes ?? 0,
        bytesDown: s?.targetToClient.bytes ?? 0,
      });
    }
    return { total: this.connections.size, connections: out };
  }

  /** Resets one connection (the API's DELETE); false when there is no such connection. */
  reset(id: number): boolean {
    for (const c of this.connections) {
      if (c.id !== id) continue;
      if (c.relay) c.relay.abort('aborted', true);
      else this.abandon(c, 'shutdown', true);
      return true;
    }
    return false;
  }

  /** Takes a new connection: admits, queues or refuses it. */
  arrive(client: Duplex, endpoint: ClientEndpoint, open: OnwardOpener, clientReader: SourceReader = new StreamReader(client)): void {
    this.acceptedTotal++;
    const conn: Connection = {
      id: this.ids.next(),
      client,
      endpoint,
      clientAddress: endpoint.text,
      clientReader,
      proxyHeader: null,
      acceptedMs: this.options.now(),
      phase: 'queued',
      timer: null,
      cancel: null,
      open,
      relay: null,
      onward: null,
      onEarlyClose: () => this.closedEarly(conn),
      heardAtMs: null,
    };
    this.connections.add(conn);
    client.on('error', noop); // a reset while waiting shows up as 'close'; handled there
    client.on('close', conn.onEarlyClose); // taken off again when the relay starts or the client is refused
    if (this.closing) return this.refuse(conn, 'shutdown', false);
    const proxy = this.options.proxyProtocol;
    if (proxy?.options.accept) return this.readProxyHeader(conn, proxy);
    this.admit(conn);
  }

  /**
   * `--accept-proxy`: nothing else happens to a connection (no admission, no target) before its
   * whole PROXY header has arrived from a trusted source within the deadline.
   */
  private readProxyHeader(conn: Connection, proxy: ProxyProtocol): void {
    const untrusted = proxy.untrusted(conn.endpoint);
    if (untrusted) return this.refuse(conn, untrusted, false);
    conn.phase = 'header';
    const reader = new ProxyHeaderReader(conn.clientReader);
    conn.clientReader = reader;
    conn.timer = setTimeout(() => reader.expire(), proxy.options.headerTimeoutMs);
    reader.readHeader((outcome: ProxyHeaderOutcome) => {
      if (conn.timer) clearTimeout(conn.timer);
      conn.timer = null;
      if (!this.connections.has(conn)) return;
      if ('error' in outcome) return this.refuse(conn, proxy.refusalFor(outcome.error), false, outcome.error.code);
      conn.proxyHeader = outcome.header;
      conn.clientAddress = proxy.accepted(outcome.header, conn.endpoint);
      conn.phase = 'queued';
      if (this.closing) return this.refuse(conn, 'shutdown', false);
      this.admit(conn);
    });
  }

  // The client went away (a reset) before its relay started: while its PROXY header was awaited too.
  private closedEarly(conn: Connection): void {
    this.abandon(conn, 'client-reset', false);
  }

  // Refuses a connection that never got its say: one awaiting its PROXY header is counted
  // (`aborted`), so the header results add up to the connections asked for one.
  private abandon(conn: Connection, end: AccessLogEntry['end'], reset: boolean): void {
    if (conn.phase === 'header' && this.connections.has(conn)) this.options.proxyProtocol?.abandoned();
    this.refuse(conn, end, reset);
  }

  private admit(conn: Connection): void {
    const turnedAway = this.options.gate?.();
    if (turnedAway) return this.refuse(conn, turnedAway, false);

    const verdict = this.admission.arrive(conn);
    if (verdict === 'admit') return this.start(conn);
    if (verdict === 'reject') return this.refuse(conn, 'queue-full', false);
    this.waitForSlot(conn);
  }

  /** Live totals per direction (client to target = up), finished connections included. */
  stats(): { clientToTarget: DirectionTotals; targetToClient: DirectionTotals } {
    const up = { ...this.up };
    const down = { ...this.down };
    for (const relay of this.relays()) {
      const s = relay.stats();
      add(up, s.clientToTarget.bytes, s.clientToTarget.pauses, s.clientToTarget.heldBackMs);
      add(down, s.targetToClient.bytes, s.targetToClient.pauses, s.targetToClient.heldBackMs);
    }
    return { clientToTarget: up, targetToClient: down };
  }

  /**
   * The open connections as `/connections` shows them: at most `limit`, busiest first (held
   * back, then most buffered), and how many there are in all. Each entry names `proxy` when
   * given (a process running several). Costs one pass over the table plus a sort of small
   * keys; only the entries returned are built in full.
   */
  listConnections(limit: number, proxy?: string): ConnectionsPage {
    const now = this.options.now();
    // `limit=0` (the total alone, as a poller of the count asks) ranks nothing.
    const ranked: { conn: Connection; held: boolean; bufferedBytes: number; id: number }[] = [];
    if (limit > 0) {
      for (const conn of this.connections) {
        const relay = conn.relay;
        ranked.push({ conn, held: relay !== null && (relay.clientToTarget.isHeld || relay.targetToClient.isHeld), bufferedBytes: relay?.bufferedBytes ?? 0, id: conn.id });
      }
      ranked.sort(busiestFirst);
    }
    const shown = ranked.slice(0, Math.max(0, limit)).map((r) => this.viewOf(r.conn, r.held, now, proxy));
    return { total: this.connections.size, limit, connections: shown };
  }

  private viewOf(conn: Connection, held: boolean, now: number, proxy: string | undefined): ConnectionView {
    const relay = conn.relay;
    const view: ConnectionView = {
      id: conn.id,
      ...(proxy !== undefined ? { proxy } : {}),
      client: conn.clientAddress,
      target: this.options.targetText,
      phase: conn.phase,
      ageMs: Math.round(now - conn.acceptedMs),
      held,
      clientToTarget: relay ? directionView(relay.clientToTarget, now) : null,
      targetToClient: relay ? directionView(relay.targetToClient, now) : null,
    };
    const messages = relay ? messagesView(relay) : undefined;
    if (messages) view.messages = messages;
    const streamOf = this.options.streamOf;
    if (streamOf) {
      const asClient = streamOf(conn.client);
      const asTarget = asClient ? null : conn.onward && streamOf(conn.onward);
      if (asClient) view.stream = { ...asClient, side: 'client' };
      else if (asTarget) view.stream = { ...asTarget, side: 'target' };
    }
    return view;
  }

  /** Bytes read but not yet flushed to the other side, over all connections. */
  bufferedBytes(): number {
    let total = 0;
    for (const relay of this.relays()) total += relay.bufferedBytes;
    return total;
  }

  /**
   * Stops admitting (new arrivals are refused), lets connections finish for up to
   * `drainTimeoutMs` (waiting ones may still be admitted), then resets what is left; resolves
   * once every connection is gone.
   */
  async shutdown(drainTimeoutMs: number): Promise<void> {
    this.closing = true;
    for (const timer of this.cooldowns) {
      clearTimeout(timer);
      this.releaseSlot();
    }
    this.cooldowns.clear();
    if (this.connections.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)));
    await Promise.race([this.whenIdle(), deadline]);
    clearTimeout(timer);
    this.abortAll();
    await this.whenIdle();
  }

  /** Resets every connection now: waiters first (so no freed slot admits anyone), then openings, then relays. */
  abortAll(): void {
    const left = [...this.connections];
    for (const c of left) if (c.phase === 'header' || c.phase === 'queued') this.abandon(c, 'shutdown', true);
    for (const c of left) if (c.phase === 'opening') this.refuse(c, 'shutdown', true);
    for (const c of left) c.relay?.abort('aborted', true);
  }

  /** Adds the connection metrics (the relay server's names) to a registry. */
  registerMetrics(registry: MetricsRegistry): void {
    // One pass over the relays per scrape, not one per family: found from outside, three passes
    // (bytes, pauses, held back) were 62% of a scrape's 10 ms with 5000 connections. A scrape is
    // rendered in one go, so what it computed is forgotten at the next microtask.
    let scraped: ReturnType<ConnectionTable['stats']> | null = null;
    const scrape = () => {
      if (scraped === null) {
        scraped = this.stats();
        queueMicrotask(() => (scraped = null));
      }
      return scraped;
    };
    const byDirection = (pick: (t: DirectionTotals) => number) => () => {
      const { clientToTarget, targetToClient } = scrape();
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
    registry.counter('sluice_pauses_total', 'Times a side was paused because the other side was behind, by direction of the held-back data.', byDirection((t) => t.pauses));
    this.options.proxyProtocol?.registerMetrics(registry);
    registry.counter('sluice_held_back_seconds_total', 'Time sides spent paused by backpressure, by direction.', byDirection((t) => t.heldBackMs / 1000));
  }

  /**
   * A waiting client waits for queueTimeoutMs at most; one that has said nothing at all is
   * closed after idleTimeoutMs if that is sooner. To tell the two apart, a waiting client is read
   * a little: its first bytes (one small read, at most 4 KiB on the onread path) are kept for the
   * onward side, and reading stops again until it is admitted.
   */
  private waitForSlot(conn: Connection): void {
    conn.clientReader.awaitFirstBytes(() => (conn.heardAtMs ??= this.options.now()));
    const idle = this.options.idleTimeoutMs;
    const queueTimeout = this.options.queueTimeoutMs;
    const expire = () => {
      conn.timer = null;
      if (conn.phase !== 'queued') return;
      const waited = this.options.now() - conn.acceptedMs;
      if (conn.heardAtMs === null || waited >= queueTimeout) {
        this.refuse(conn, conn.heardAtMs === null && idle > 0 && idle < queueTimeout ? 'idle-timeout' : 'queue-timeout', false);
        return;
      }
      conn.timer = setTimeout(expire, Math.max(0, queueTimeout - waited));
    };
    conn.timer = setTimeout(expire, idle > 0 && idle < queueTimeout ? idle : queueTimeout);
  }

  private start(conn: Connection): void {
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = null;
    conn.phase = 'opening';
    this.stopListening(conn);
    conn.cancel = conn.open((failure, onward, reader) => {
      conn.cancel = null;
      if (failure || !onward) return this.refuse(conn, failure?.end ?? 'connect-failed', failure?.reset ?? false, failure?.error);
      if (!this.connections.has(conn)) {
        // The client went away meanwhile (the opener could not be cancelled in time).
        resetOrDestroy(onward);
        return;
      }
      this.startRelay(conn, onward, reader ?? new StreamReader(onward));
    });
  }

  private startRelay(conn: Connection, onward: Duplex, onwardReader: SourceReader): void {
    conn.phase = 'relaying';
    conn.onward = onward;
    // Before any byte of the client's: the relay has not started reading yet.
    const header = this.options.proxyProtocol?.headerToSend(conn.endpoint, conn.proxyHeader, `sluice-${this.ids.instance}-${conn.id}`);
    if (header) onward.write(header);
    conn.endpoint = NO_ENDPOINT; // not needed any more: kept for the connection's life otherwise
    conn.client.off('close', conn.onEarlyClose);
    conn.onEarlyClose = noop; // kept for the connection's life otherwise
    conn.client.off('error', noop);
    // Every key written out (no spreads): one shape of options for every connection's relay.
    const extra = this.options.relayOptions?.();
    conn.relay = new Relay(conn.client, onward, {
      windowBytes: this.options.windowBytes,
      lowBytes: undefined,
      idleTimeoutMs: this.options.idleTimeoutMs,
      // Silent since it connected, or busy now: what it sent while waiting goes out as the relay starts.
      quietSinceMs: conn.heardAtMs === null ? conn.acceptedMs : this.options.now(),
      halfCloseTimeoutMs: this.options.halfCloseTimeoutMs ?? 0,
      now: this.options.now,
      clientReader: conn.clientReader,
      targetReader: onwardReader,
      budget: extra?.budget,
      onResume: extra?.onResume,
      rateBytesPerS: extra?.rateBytesPerS,
      timers: this.timers ?? undefined,
      messages: extra?.messages,
      stages: undefined,
      beforeStart: extra?.beforeStart,
      onDone: (result) => this.onRelayDone(conn, result),
    });
  }

  private onRelayDone(conn: Connection, result: RelayResult): void {
    const up = result.clientToTarget;
    const down = result.targetToClient;
    add(this.up, up.bytes, up.pauses, up.heldBackMs);
    add(this.down, down.bytes, down.pauses, down.heldBackMs);
    this.options.onFinished?.(result);
    this.finish(conn, this.entry(conn, result.end, up.bytes, down.bytes, up.heldBackMs, down.heldBackMs, result.error));
    if (result.end === 'idle-timeout' || result.end === 'half-close-timeout' || result.end === 'aborted') this.releaseSlotSoon();
    else this.releaseSlot();
  }

  /**
   * Closes a connection that never started relaying and gives back what it held: its place in
   * the queue, or its slot (and its opening attempt).
   */
  private refuse(conn: Connection, end: AccessLogEntry['end'], reset: boolean, error?: string): void {
    if (!this.connections.has(conn)) return;
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = null;
    conn.client.off('close', conn.onEarlyClose);
    this.stopListening(conn);
    conn.clientReader.stop();
    const heldSlot = conn.phase === 'opening';
    if (conn.phase === 'queued') this.admission.leave(conn);
    conn.cancel?.();
    conn.cancel = null;
    this.finish(conn, this.entry(conn, end, 0, 0, 0, 0, error));
    if (reset) resetOrDestroy(conn.client);
    else conn.client.destroy();
    if (heldSlot) this.releaseSlot();
  }

  private stopListening(conn: Connection): void {
    conn.clientReader.stopAwaiting();
  }

  private releaseSlotSoon(): void {
    if (this.closing) return this.releaseSlot();
    const timer = setTimeout(() => {
      this.cooldowns.delete(timer);
      this.releaseSlot();
    }, SLOT_COOLDOWN_MS);
    this.cooldowns.add(timer);
  }

  private releaseSlot(): void {
    for (const next of this.admission.release()) this.start(next);
  }

  // Every key present, in one order: an entry is made per connection, and entries of one shape
  // keep the access log's formatting (and a listener's reads) on V8's fast paths.
  private entry(conn: Connection, end: AccessLogEntry['end'], bytesUp: number, bytesDown: number, heldBackUpMs: number, heldBackDownMs: number, error: string | undefined): AccessLogEntry {
    return {
      proxy: this.options.proxyName,
      id: conn.id,
      client: conn.clientAddress,
      target: this.options.targetText,
      bytesUp,
      bytesDown,
      durationMs: this.options.now() - conn.acceptedMs,
      end,
      heldBackUpMs,
      heldBackDownMs,
      error,
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

function slowPause(direction: Direction, nowMs: number): boolean {
  const ledger = direction.ledger;
  return ledger.isHeld && Math.max(ledger.currentPauseMs(nowMs), ledger.lastPauseMs) >= SLOW_PAUSE_MS;
}

function add(t: DirectionTotals, bytes: number, pauses: number, heldBackMs: number): void {
  t.bytes += bytes;
  t.pauses += pauses;
  t.heldBackMs += heldBackMs;
}

function noop(): void {}

const NO_ENDPOINT: ClientEndpoint = { text: '', source: { address: undefined, port: undefined }, destination: { address: undefined, port: undefined } };

/**
 * The ids connections get (the access log's `conn=`, `/connections`, the API's DELETE, the PROXY
 * header's UNIQUE_ID). One sequence per process role: a relay server makes its own, `serve` shares
 * one among all its proxies and the servers that replace them on reload, so no two connections of
 * a process ever share an id. `instance` tells processes apart (a container's sluice is often
 * PID 1 after every restart): random, made when first asked for.
 * (Here, not in a file of its own, for the descriptor reason given in access-log.ts.)
 */
export class ConnectionIds {
  private last = 0;
  private instanceToken: string | null = null;

  /** The next id: 1, 2, 3, ... */
  next(): number {
    return ++this.last;
  }

  /** 16 hex digits, the same for the life of this sequence. */
  get instance(): string {
    return (this.instanceToken ??= randomHex64());
  }
}

function randomHex64(): string {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return Array.from(words, (w) => w.toString(16).padStart(8, '0')).join('');
}
