import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admission } from '../windowing/index.js';
import { formatAddress, socketOptions, type Address } from './address.js';
import type { AccessLogEntry } from './access-log.js';
import { connectTarget, type PendingConnect } from './connect.js';
import type { MetricsRegistry } from './metrics.js';
import { Relay, DEFAULT_WINDOW_BYTES, type RelayResult } from './relay.js';
import { resetOrDestroy } from './pump.js';
import { adoptWithReadHook } from './adopt-socket.js';
import { ReadHook } from './read-hook.js';
import { landingAtMost, MIN_READ_BYTES } from './read-buffers.js';
import { Governor, type GovernedInstance } from './governor.js';
import { SpillStore } from './spill-store.js';
import { DROP_REASONS, type DirectionWindow, type DropReason, type MessageFraming, type OverflowPolicy } from '../windowing/index.js';
import type { HealthStatus } from './http-endpoints.js';

/**
 * The relay sidecar: accepts clients, admits at most `maxConns` to the target at once (the
 * rest wait in a bounded FIFO queue), connects each to the target with a deadline, and relays
 * with per-direction flow control. One access-log entry per finished connection.
 *
 *   listener --> Admission --(admit)--> connectTarget --> Relay(client, target)
 *                    |  (queue: timer)        | (fail/timeout: close client)
 *                    +-- reject when full     +--> done: log, release slot, admit next
 */

/** Everything a relay server needs; the CLI fills it from flags. */
export interface RelayServerOptions {
  listen: Address;
  target: Address;
  /** Per-direction window in bytes (default 256 KiB). */
  windowBytes?: number;
  connectTimeoutMs?: number;
  /** How long a refused connect is retried with backoff (a target restarting); never past connectTimeoutMs. */
  connectRetryMs?: number;
  /** No bytes either way for this long closes the connection (queued time counts); 0 disables. */
  idleTimeoutMs?: number;
  /** After one side's FIN, the other has this long to finish (default 5 min, yamux's stream close timeout); 0 disables. */
  halfCloseTimeoutMs?: number;
  /** Most connections to the target at once; 0 = no limit. */
  maxConns?: number;
  /** Most clients waiting for a slot. */
  maxQueue?: number;
  queueTimeoutMs?: number;
  /** Called once per finished connection. */
  onAccessLog?: (entry: AccessLogEntry) => void;
  /** Clock in milliseconds (default performance.now). */
  now?: () => number;
  /**
   * 'onread' (default): sockets read into reused buffers (see read-buffers.ts); 'stream':
   * ordinary 'data' events, the path any duplex takes. Both have the same flow control.
   */
  readPath?: 'onread' | 'stream';
  /** Cap on all buffered bytes (default 256 MiB): windows shrink as it fills; new clients are turned away at saturation. */
  memoryBudgetBytes?: number;
  /** Adapt the limit on target connections to the target's latency (Gradient2); `maxConns` caps it. */
  adaptiveConcurrency?: boolean;
  /** Pressure from which /healthz answers 503 (default 0.8). */
  shedAt?: number;
  /** Bytes per second per direction per connection (token bucket); 0 = unlimited. */
  rateBytesPerS?: number;
  /** Message boundaries of the client-to-target direction; needed by every overflow policy but block. */
  messages?: MessageFraming;
  /** What to do when the window toward the target is full (default block). */
  overflow?: OverflowPolicy;
  /** Longest message body; a longer one closes its connection (default 1 MiB). */
  maxMessageBytes?: number;
  /** Where spill keeps what does not fit in memory (default: the system temp directory). */
  spillDir?: string;
  /** Most bytes on disk over all connections; past it spill falls back to block (default 1 GiB). */
  spillMaxBytes?: number;
  /** One-line notices (a full spill disk); default: nowhere. */
  onNotice?: (text: string) => void;
}

/** Defaults, each with its reason in DESIGN.md's table. */
export const RELAY_DEFAULTS = {
  windowBytes: DEFAULT_WINDOW_BYTES,
  connectTimeoutMs: 5_000, // HAProxy: just above a multiple of the 3 s SYN retransmit
  connectRetryMs: 2_000, // a restart's worth; a dead target still closes its clients within ~2 s
  idleTimeoutMs: 3_600_000, // Envoy tcp_proxy: 1 h
  halfCloseTimeoutMs: 300_000, // yamux: 5 min for a half-closed stream to finish
  maxConns: 0,
  maxQueue: 1024, // bounded so a flood cannot pile sockets up in memory
  queueTimeoutMs: 5_000,
  drainTimeoutMs: 30_000,
} as const;

type Phase = 'queued' | 'connecting' | 'relaying';

/**
 * A paused connection counts toward pressure when its pauses are long: the one in progress has
 * lasted this long, or the one before it did. A pause lasts as long as the slow side takes to
 * drain half a window, so this is the queueing delay sluice is adding (CoDel calls it sojourn
 * time). A transfer at full speed into a fast target is paused often but for well under a
 * millisecond each time; that is flow control working, not pressure.
 */
const SLOW_PAUSE_MS = 50;

/** How long the slot of a connection sluice closed itself stays taken after the close. */
const SLOT_COOLDOWN_MS = 20;

type OptionalKeys = 'onAccessLog' | 'memoryBudgetBytes' | 'shedAt' | 'messages' | 'onNotice';
type Options = Required<Omit<RelayServerOptions, OptionalKeys>> & Pick<RelayServerOptions, OptionalKeys>;

interface Connection {
  id: number;
  client: Socket;
  clientAddress: string;
  acceptedMs: number;
  phase: Phase;
  timer: NodeJS.Timeout | null;
  pending: PendingConnect | null;
  relay: Relay | null;
  onEarlyClose: () => void;
  clientReads: ReadHook | undefined;
  /** When the client first sent bytes while it waited (null: silent so far). */
  heardAtMs: number | null;
  onHeard: () => void;
}

/** Per-direction totals of finished connections; live ones are added at read time. */
export interface DirectionTotals {
  bytes: number;
  pauses: number;
  heldBackMs: number;
}

/** A listening relay; see the module comment. */
export class RelayServer {
  private readonly options: Options;
  /** Pressure, memory budget, adaptive limit and the signals drawn from them. */
  readonly governor: Governor;
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly admission: Admission<Connection>;
  private readonly targetText: string;
  private nextId = 1;
  private closing = false;
  private idleWaiters: (() => void)[] = [];
  private acceptedTotal = 0;
  private readonly endedTotal = new Map<string, number>();
  private readonly up: DirectionTotals = { bytes: 0, pauses: 0, heldBackMs: 0 };
  private spillStore: SpillStore | null = null;
  private readonly cooldowns = new Set<NodeJS.Timeout>();
  private messagesForwarded = 0;
  private readonly messagesDroppedBy: Record<DropReason, number> = { 'drop-newest': 0, 'drop-oldest': 0, 'too-large': 0, incomplete: 0, closed: 0 };
  private readonly down: DirectionTotals = { bytes: 0, pauses: 0, heldBackMs: 0 };

  constructor(options: RelayServerOptions) {
    this.options = {
      windowBytes: options.windowBytes ?? RELAY_DEFAULTS.windowBytes,
      connectTimeoutMs: options.connectTimeoutMs ?? RELAY_DEFAULTS.connectTimeoutMs,
      connectRetryMs: options.connectRetryMs ?? RELAY_DEFAULTS.connectRetryMs,
      idleTimeoutMs: options.idleTimeoutMs ?? RELAY_DEFAULTS.idleTimeoutMs,
      halfCloseTimeoutMs: options.halfCloseTimeoutMs ?? RELAY_DEFAULTS.halfCloseTimeoutMs,
      maxConns: options.maxConns ?? RELAY_DEFAULTS.maxConns,
      maxQueue: options.maxQueue ?? RELAY_DEFAULTS.maxQueue,
      queueTimeoutMs: options.queueTimeoutMs ?? RELAY_DEFAULTS.queueTimeoutMs,
      now: options.now ?? (() => performance.now()),
      // The rate limiter polices 'data' events, which the onread path does not emit.
      readPath: options.rateBytesPerS ? 'stream' : (options.readPath ?? 'onread'),
      adaptiveConcurrency: options.adaptiveConcurrency ?? false,
      rateBytesPerS: options.rateBytesPerS ?? 0,
      memoryBudgetBytes: options.memoryBudgetBytes,
      shedAt: options.shedAt,
      messages: options.messages,
      overflow: options.overflow ?? 'block',
      maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
      spillDir: options.spillDir ?? join(tmpdir(), 'sluice-spill'),
      spillMaxBytes: options.spillMaxBytes ?? 1024 ** 3,
      onNotice: options.onNotice,
      listen: options.listen,
      target: options.target,
      onAccessLog: options.onAccessLog,
    };
    this.targetText = formatAddress(options.target);
    if (this.options.overflow !== 'block' && !this.options.messages) {
      throw new RangeError(`overflow ${this.options.overflow} needs message boundaries (messages: lines or u32be)`);
    }
    this.governor = new Governor(this.governedView(), {
      ...(options.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: options.memoryBudgetBytes } : {}),
      ...(options.shedAt !== undefined ? { shedAt: options.shedAt } : {}),
      adaptiveConcurrency: this.options.adaptiveConcurrency,
      ...(this.options.maxConns > 0 ? { maxConcurrency: this.options.maxConns } : {}),
      now: this.options.now,
    });
    const initialLimit = this.governor.limit ? this.governor.limit.limit : this.options.maxConns;
    this.admission = new Admission({ maxActive: initialLimit, maxQueued: this.options.maxQueue });
    // pauseOnConnect: nothing is read from a client until its target is connected, so a
    // queued or connecting client costs a socket, not a buffer.
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) =>
      this.onConnection(socket),
    );
  }

  /**
   * Starts listening; resolves with the real address (the actual port when 0 was asked).
   * With spill, first prepares the spill directory (rejects with SpillDirError if unwritable).
   */
  async listen(): Promise<Address> {
    if (this.options.overflow === 'spill' && !this.spillStore) {
      let told = false;
      this.spillStore = await SpillStore.open({
        dir: this.options.spillDir,
        maxBytes: this.options.spillMaxBytes,
        onDiskFull: (err, runDir) => {
          if (told) return;
          told = true;
          this.options.onNotice?.(`spill disk full or failing in ${runDir} (${err.code ?? err.message}): falling back to block`);
        },
      });
    }
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      // A deep accept queue: a burst of connects past Node's default 511 would otherwise see its
      // SYNs dropped and retried a second later (the kernel caps it at net.core.somaxconn).
      this.server.listen({ ...socketOptions(this.options.listen), backlog: 4096 }, () => {
        this.server.off('error', onError);
        resolve(this.address());
      });
    });
  }

  /** The address the server is listening on. */
  address(): Address {
    const a = this.server.address();
    if (a === null) throw new Error('not listening');
    if (typeof a === 'string') return { kind: 'unix', path: a };
    return { kind: 'tcp', host: a.address, port: a.port };
  }

  /** What /healthz answers: 503 with Retry-After while pressure is above --shed-at. */
  health(): HealthStatus {
    return this.governor.health();
  }

  /** The HAProxy agent-check reply line. */
  agentReply(): string {
    return this.governor.agentReply();
  }

  /** Connections holding a slot (connecting or relaying). */
  get activeConnections(): number {
    return this.admission.active;
  }

  /** Clients waiting for a slot. */
  get queuedConnections(): number {
    return this.admission.queued;
  }

  /** Live totals per direction, finished connections included. */
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

  /** Bytes read but not yet flushed, over all connections. */
  bufferedBytes(): number {
    let total = 0;
    for (const c of this.connections) if (c.relay) total += c.relay.bufferedBytes;
    return total;
  }

  /**
   * Graceful shutdown: stop accepting, let connections finish for up to `drainTimeoutMs`,
   * then reset what is left. Resolves once every socket is closed.
   */
  async shutdown(drainTimeoutMs: number = RELAY_DEFAULTS.drainTimeoutMs): Promise<void> {
    this.closing = true;
    for (const timer of this.cooldowns) {
      clearTimeout(timer);
      this.releaseSlot();
    }
    this.cooldowns.clear();
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.connections.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)));
      await Promise.race([this.whenIdle(), deadline]);
      clearTimeout(timer);
      // Waiters first, so no freed slot admits anyone; then attempts, then relays.
      const left = [...this.connections];
      for (const c of left) if (c.phase === 'queued') this.refuse(c, 'shutdown', true);
      for (const c of left) if (c.phase === 'connecting') this.refuse(c, 'shutdown', true);
      for (const c of left) c.relay?.abort('aborted', true);
      await this.whenIdle();
    }
    await listenerClosed;
    this.governor.close();
    await this.spillStore?.close();
  }

  /** Bytes in spill files now. */
  spilledBytes(): number {
    return this.spillStore?.bytesOnDisk ?? 0;
  }

  /** Whole messages forwarded (message mode), finished and live connections. */
  messagesForwardedTotal(): number {
    let total = this.messagesForwarded;
    for (const c of this.connections) total += c.relay?.messageCounts()?.forwarded ?? 0;
    return total;
  }

  /** Whole messages dropped by reason (message mode), finished and live connections. */
  messagesDroppedByReason(): Record<DropReason, number> {
    const out = { ...this.messagesDroppedBy };
    for (const c of this.connections) {
      const counts = c.relay?.messageCounts();
      if (counts) for (const r of DROP_REASONS) out[r] += counts.dropped[r];
    }
    return out;
  }

  /** Whole messages dropped for any reason. */
  messagesDropped(): number {
    return Object.values(this.messagesDroppedByReason()).reduce((a, b) => a + b, 0);
  }

  /** Adds this server's metrics to a registry. */
  registerMetrics(registry: MetricsRegistry): void {
    const byDirection = (pick: (t: DirectionTotals) => number) => () => {
      const { clientToTarget, targetToClient } = this.stats();
      return [
        { labels: { direction: 'client_to_target' }, value: pick(clientToTarget) },
        { labels: { direction: 'target_to_client' }, value: pick(targetToClient) },
      ];
    };
    this.governor.registerMetrics(registry);
    registry.gauge('sluice_connections_active', 'Connections holding a slot toward the target (connecting or relaying).', () => this.admission.active);
    registry.gauge('sluice_connections_queued', 'Clients waiting for a slot toward the target.', () => this.admission.queued);
    registry.counter('sluice_connections_total', 'Client connections accepted.', () => this.acceptedTotal);
    registry.counter('sluice_connections_closed_total', 'Finished connections by how they ended.', () =>
      [...this.endedTotal].map(([end, value]) => ({ labels: { end }, value })),
    );
    registry.counter('sluice_bytes_total', 'Bytes relayed, by direction.', byDirection((t) => t.bytes));
    registry.gauge('sluice_bytes_buffered', 'Bytes read but not yet flushed to the other side.', () => this.bufferedBytes());
    registry.counter('sluice_pauses_total', 'Times a side was paused because the other side was behind, by direction of the held-back data.', byDirection((t) => t.pauses));
    if (this.options.messages) {
      registry.counter('sluice_messages_forwarded_total', 'Whole messages forwarded client to target (message mode).', () => this.messagesForwardedTotal());
      registry.counter('sluice_messages_dropped_total', 'Whole messages discarded, by reason (message mode).', () =>
        Object.entries(this.messagesDroppedByReason()).map(([reason, value]) => ({ labels: { reason }, value })),
      );
    }
    if (this.options.overflow === 'spill') {
      registry.gauge('sluice_spill_bytes', 'Bytes in spill files now.', () => this.spillStore?.bytesOnDisk ?? 0);
      registry.counter('sluice_spill_bytes_total', 'Bytes ever written to spill files.', () => this.spillStore?.bytesWrittenTotal ?? 0);
    }
    registry.counter('sluice_held_back_seconds_total', 'Time sides spent paused by backpressure, by direction.', byDirection((t) => t.heldBackMs / 1000));
  }

  private onConnection(accepted: Socket): void {
    this.acceptedTotal++;
    let client = accepted;
    let clientReads: ReadHook | undefined;
    // Message mode reads the client through 'data' events (the framer keeps views of chunks).
    if (this.options.readPath === 'onread' && !this.options.messages) {
      const hook = new ReadHook();
      const adopted = adoptWithReadHook(accepted, hook, this.options.windowBytes);
      if (adopted) {
        client = adopted;
        clientReads = hook;
      }
    }
    const conn: Connection = {
      id: this.nextId++,
      client,
      clientAddress: describePeer(client),
      acceptedMs: this.options.now(),
      phase: 'queued',
      timer: null,
      pending: null,
      relay: null,
      onEarlyClose: () => this.onEarlyClose(conn),
      clientReads,
      heardAtMs: null,
      onHeard: () => (conn.heardAtMs ??= this.options.now()),
    };
    this.connections.add(conn);
    client.on('error', noop); // a reset while waiting shows up as 'close'; handled there
    client.once('close', conn.onEarlyClose);
    if (this.closing) return this.refuse(conn, 'shutdown', false);
    if (!this.governor.accepting) return this.refuse(conn, 'overloaded', false);

    const verdict = this.admission.arrive(conn);
    if (verdict === 'admit') return this.connect(conn);
    if (verdict === 'reject') return this.refuse(conn, 'queue-full', false);
    this.waitForSlot(conn);
  }

  /**
   * A queued client waits for --queue-timeout at most; one that has said nothing at all is
   * closed after --idle-timeout if that is sooner. To tell the two apart, a waiting client is
   * read a little: its first bytes (one small read, at most 4 KiB) are kept for the target, and
   * reading stops again until it is admitted.
   */
  private waitForSlot(conn: Connection): void {
    if (conn.clientReads) {
      conn.clientReads.next = landingAtMost(MIN_READ_BYTES);
      conn.clientReads.onEarly = conn.onHeard;
      conn.client.resume();
    } else {
      conn.client.once('readable', conn.onHeard);
      conn.client.read(0);
    }
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

  private connect(conn: Connection): void {
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = null;
    conn.phase = 'connecting';
    this.stopListening(conn);
    const targetReads = this.options.readPath === 'onread' ? new ReadHook() : undefined;
    const startedMs = this.options.now();
    conn.pending = connectTarget(
      this.options.target,
      this.options.connectTimeoutMs,
      { writableHighWaterMark: this.options.windowBytes, retryRefusedForMs: this.options.connectRetryMs, ...(targetReads ? { readHook: targetReads } : {}) },
      (failure, target) => {
        conn.pending = null;
        // A failed connect counts as the slowest answer there is.
        this.governor.latency('connect', failure?.end === 'connect-timeout' ? this.options.connectTimeoutMs : this.options.now() - startedMs);
        if (failure || !target) return this.refuse(conn, failure?.end ?? 'connect-failed', false, failure?.error);
        this.startRelay(conn, target, targetReads);
      },
    );
  }

  private startRelay(conn: Connection, target: Socket, targetReads: ReadHook | undefined): void {
    conn.phase = 'relaying';
    conn.client.off('close', conn.onEarlyClose);
    conn.client.off('error', noop);
    conn.relay = new Relay(conn.client, target, {
      windowBytes: this.options.windowBytes,
      idleTimeoutMs: this.options.idleTimeoutMs,
      halfCloseTimeoutMs: this.options.halfCloseTimeoutMs,
      // Silent since it connected, or busy now: what it sent while waiting goes out as the relay starts.
      quietSinceMs: conn.heardAtMs === null ? conn.acceptedMs : this.options.now(),
      now: this.options.now,
      ...(conn.clientReads ? { clientReads: conn.clientReads } : {}),
      ...(targetReads ? { targetReads } : {}),
      budget: this.governor.budget,
      onResume: this.onResume,
      ...(this.options.rateBytesPerS > 0 ? { rateBytesPerS: this.options.rateBytesPerS } : {}),
      ...(this.options.messages
        ? {
            messages: {
              framing: this.options.messages,
              maxMessageBytes: this.options.maxMessageBytes,
              policy: this.options.overflow,
              ...(this.spillStore ? { spool: this.spillStore.openSpool() } : {}),
            },
          }
        : {}),
    });
    conn.client.resume();
    void conn.relay.done.then((result) => this.onRelayDone(conn, result));
  }

  // A pause lasts as long as the slow side took to drain half a window: a latency sample,
  // normalised to milliseconds per 64 KiB so different windows compare.
  private readonly onResume = (pausedMs: number): void => {
    this.governor.latency('drain', (pausedMs * 65536) / Math.max(1, this.options.windowBytes / 2));
  };

  private governedView(): GovernedInstance {
    return {
      relayingConnections: () => {
        let total = 0;
        let heldBack = 0;
        const now = this.options.now();
        for (const c of this.connections) {
          if (!c.relay) continue;
          total++;
          if (slowPause(c.relay.clientToTarget.window, now) || slowPause(c.relay.targetToClient.window, now)) heldBack++;
        }
        return { total, heldBack };
      },
      activeConnections: () => this.admission.active,
      setConcurrencyLimit: (limit) => {
        const capped = this.options.maxConns > 0 ? Math.min(limit, this.options.maxConns) : limit;
        for (const next of this.admission.setLimit(capped)) this.connect(next);
      },
    };
  }

  private onRelayDone(conn: Connection, result: RelayResult): void {
    const up = result.clientToTarget;
    const down = result.targetToClient;
    add(this.up, up.bytes, up.pauses, up.heldBackMs);
    add(this.down, down.bytes, down.pauses, down.heldBackMs);
    if (result.messages) {
      this.messagesForwarded += result.messages.forwarded;
      for (const r of DROP_REASONS) this.messagesDroppedBy[r] += result.messages.dropped[r];
    }
    this.finish(conn, {
      id: conn.id,
      client: conn.clientAddress,
      target: this.targetText,
      bytesUp: up.bytes,
      bytesDown: down.bytes,
      durationMs: this.options.now() - conn.acceptedMs,
      end: result.end,
      heldBackUpMs: up.heldBackMs,
      heldBackDownMs: down.heldBackMs,
      ...(result.error !== undefined ? { error: result.error } : {}),
    });
    // A connection we closed (timeout, abort) frees its slot a moment later: the target has only
    // just been told, and a target that handles its close and a new connection in the same turn
    // of its event loop would otherwise briefly hold one more than --max-conns.
    if (result.end === 'idle-timeout' || result.end === 'half-close-timeout' || result.end === 'aborted') this.releaseSlotSoon();
    else this.releaseSlot();
  }

  // The client went away before relaying began.
  private onEarlyClose(conn: Connection): void {
    this.refuse(conn, 'client-reset', false);
  }

  /**
   * Closes a connection that never started relaying and gives back what it held: its place in
   * the queue, or its slot (and connection attempt) toward the target.
   */
  private refuse(conn: Connection, end: AccessLogEntry['end'], reset: boolean, error?: string): void {
    if (!this.connections.has(conn)) return;
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = null;
    conn.client.off('close', conn.onEarlyClose);
    this.stopListening(conn);
    const heldSlot = conn.phase === 'connecting';
    if (conn.phase === 'queued') this.admission.leave(conn);
    conn.pending?.cancel();
    conn.pending = null;
    this.finish(conn, { ...this.emptyEntry(conn, end), ...(error !== undefined ? { error } : {}) });
    if (reset) resetOrDestroy(conn.client);
    else conn.client.destroy();
    if (heldSlot) this.releaseSlot();
  }

  // A 'readable' listener would keep the stream from flowing once the relay starts.
  private stopListening(conn: Connection): void {
    if (conn.clientReads) conn.clientReads.onEarly = null;
    conn.client.off('readable', conn.onHeard);
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
    for (const next of this.admission.release()) this.connect(next);
  }

  private emptyEntry(conn: Connection, end: AccessLogEntry['end']): AccessLogEntry {
    return {
      id: conn.id,
      client: conn.clientAddress,
      target: this.targetText,
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

function slowPause(window: DirectionWindow, nowMs: number): boolean {
  return window.isPaused && Math.max(window.currentPauseMs(nowMs), window.lastPauseMs) >= SLOW_PAUSE_MS;
}

function add(t: DirectionTotals, bytes: number, pauses: number, heldBackMs: number): void {
  t.bytes += bytes;
  t.pauses += pauses;
  t.heldBackMs += heldBackMs;
}

function describePeer(socket: Socket): string {
  if (socket.remoteAddress === undefined) return 'unix';
  return formatAddress({ kind: 'tcp', host: socket.remoteAddress, port: socket.remotePort ?? 0 });
}

function noop(): void {}
