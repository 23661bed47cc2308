import { createServer, type Server, type Socket } from 'node:net';
import { DROP_REASONS, OVERFLOW_POLICIES, type DropReason, type OverflowPolicy } from '../../windowing/message-queue.js';
import { MAX_MESSAGE_LIMIT_BYTES, MESSAGE_FRAMINGS, type MessageFraming } from '../../windowing/message-framer.js';
import { clientEndpointOf, formatAddress, type Address } from '../net/address.js';
import { asSocket, leanTcp, type LeanSocket } from '../net/lean-socket.js';
import { LISTEN_BACKLOG, listeningAddress, listenOn } from '../net/listen.js';
import { guardListener, type AcceptGuard } from '../net/accept-guard.js';
import { connectTarget } from '../net/connect.js';
import { ConnectionTable, type ConnectionIds, type ConnectionRelayOptions, type ConnectionSummary, type DirectionTotals, type OnwardOpener, type SidecarConnectionOptions } from './connection-table.js';
import { Governor } from '../signals/governor.js';
import type { HealthStatus } from '../signals/http-endpoints.js';
import type { MetricsRegistry } from '../signals/metrics.js';
import type { ConnectionsPage } from '../signals/connections-view.js';
import { readAccepted, readDialled } from '../reads/socket-readers.js';
import { BlockPool } from '../memory/block-pool.js';
import { collectGarbage } from '../memory/full-gc.js';
import { ArrivalBurstCollector } from '../memory/arrival-burst.js';
import { connectionChargeFor } from './connection-charge.js';
import { WINDOW_BYTES_CHECK, type Relay, type RelayResult } from './relay.js';
import type { SpillStore } from '../spill/spill-store.js';
import { CONNECTION_CHECKS, RELAY_DEFAULTS } from './defaults.js';
import { above, address, bool, checkOptions, durationMs, func, list, object, oneOf, text, whole, type Checks } from './option-checks.js';
import { proxyProtocolFrom } from './proxy-protocol.js';
import { checkToxicsFit, ConnectionToxics } from './connection-toxics.js';
import type { ToxicSpec } from '../stages/toxics/index.js';

/**
 * The relay sidecar: accepts clients, admits at most `maxConns` to the target at once (the
 * rest wait in a bounded FIFO queue), connects each to the target with a deadline, and relays
 * with per-direction flow control, the overflow strategy and the memory budget. One access-log
 * entry per finished connection. The bookkeeping is the ConnectionTable every sidecar shares;
 * this adds the listener, the target connector, the governor (pressure, budget, adaptive limit),
 * the read blocks the budget governs (each connection is charged too, from accept to close) and
 * the spill store.
 *
 *   listener --> ConnectionTable.arrive --(admit)--> connectTarget --> Relay(client, target)
 *                    gate: overloaded?                | retry refused, deadline
 *                    queue: timers                    +--> done: log, release slot, admit next
 */

/** Everything a relay server needs; the CLI fills it from flags. */
export interface RelayServerOptions extends SidecarConnectionOptions {
  listen: Address;
  target: Address;
  /** Where connection ids come from: `serve` gives all its proxies one sequence (default: the server's own, from 1). */
  connectionIds?: ConnectionIds;
  /** Per-direction window in bytes (default 256 KiB). */
  windowBytes?: number;
  /** How long a refused connect is retried with backoff (a target restarting); never past connectTimeoutMs. */
  connectRetryMs?: number;
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
  /**
   * After a burst (the read blocks fell to a quarter of their peak, by an eighth of the budget or
   * more; or connections stopped arriving after the heap grew by 16 MiB or more) run one full,
   * compacting garbage collection, so the heap a burst grew goes back too (default true; see
   * proxy/memory/full-gc.ts and arrival-burst.ts).
   */
  collectAfterBurst?: boolean;
  /** A listening socket handed over by a predecessor (see handOverListener); `listen` is then only its name. */
  listener?: Server;
  /** Toxics on every connection, in the order added (see setToxics). */
  toxics?: readonly ToxicSpec[];
  /** Draws each toxic's toxicity per connection; Math.random by default. */
  random?: () => number;
  /** The proxy's name under `sluice serve`: every access-log entry carries it. */
  proxyName?: string;
}

/** What RelayServer accepts for each option (option-checks.ts); bounds as the CLI's flags have them. */
const RELAY_SERVER_CHECKS: Checks<RelayServerOptions> = {
  ...CONNECTION_CHECKS,
  listen: address,
  target: address,
  connectionIds: object,
  windowBytes: WINDOW_BYTES_CHECK,
  connectRetryMs: durationMs(0),
  // The governor's read blocks and per-connection charge are carved out of it (--memory-budget's bound).
  memoryBudgetBytes: whole(64 * 1024),
  adaptiveConcurrency: bool,
  shedAt: above(0, 1),
  rateBytesPerS: whole(0),
  messages: oneOf(MESSAGE_FRAMINGS),
  overflow: oneOf(OVERFLOW_POLICIES),
  maxMessageBytes: whole(1, MAX_MESSAGE_LIMIT_BYTES),
  spillDir: text,
  spillMaxBytes: whole(64 * 1024), // --spill-max's bound: a segment is at least 64 KiB
  collectAfterBurst: bool,
  listener: object,
  toxics: list, // each checked against the relay by checkToxicsFit
  random: func,
  proxyName: text,
};

type OptionalKeys = 'proxyName' | 'onAccessLog' | 'collectAfterBurst' | 'memoryBudgetBytes' | 'shedAt' | 'messages' | 'onNotice' | 'fdReserve' | 'acceptErrors' | 'acceptProxy' | 'acceptProxyFrom' | 'proxyHeaderTimeoutMs' | 'sendProxy' | 'listener' | 'toxics' | 'random' | 'connectionIds';
type Options = Required<Omit<RelayServerOptions, OptionalKeys>> & Pick<RelayServerOptions, OptionalKeys>;

/** A listening relay; see the module comment. */
export class RelayServer {
  private readonly options: Options;
  /** Pressure, memory budget, adaptive limit and the signals drawn from them. */
  readonly governor: Governor;
  private readonly server: Server;
  private listenerHandedOver = false;
  private acceptTakeover: { release(): void } | null = null;
  private readonly accepts: AcceptGuard;
  private readonly table: ConnectionTable;
  /** Where every byte read on the onread path lands: blocks charged to the memory budget. */
  readonly blocks: BlockPool;
  /** The after-burst GC for bursts of arriving connections (null with collectAfterBurst false). */
  private readonly arrivalBursts: ArrivalBurstCollector | null;
  /** What each client connection is charged from accept to close (its sockets and state; see connection-charge.ts). */
  readonly connectionChargeBytes: number;
  private spillStore: SpillStore | null = null;
  /** Full GCs run after bursts, and the time they took. */
  private afterBurstCollections = 0;
  private afterBurstCollectionMs = 0;
  private messagesForwarded = 0;
  private toxicList: readonly ToxicSpec[] = [];
  private readonly connectionToxics = new WeakMap<Relay, ConnectionToxics>();
  private readonly messagesDroppedBy: Record<DropReason, number> = { 'drop-newest': 0, 'drop-oldest': 0, 'too-large': 0, incomplete: 0, closed: 0, toxic: 0 };

  constructor(options: RelayServerOptions) {
    // Everything that can refuse the options runs before the governor starts its timer.
    checkOptions(options, RELAY_SERVER_CHECKS, ['listen', 'target']);
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
      readPath: options.readPath ?? RELAY_DEFAULTS.readPath,
      adaptiveConcurrency: options.adaptiveConcurrency ?? RELAY_DEFAULTS.adaptiveConcurrency,
      rateBytesPerS: options.rateBytesPerS ?? RELAY_DEFAULTS.rateBytesPerS,
      memoryBudgetBytes: options.memoryBudgetBytes,
      shedAt: options.shedAt,
      messages: options.messages,
      overflow: options.overflow ?? RELAY_DEFAULTS.overflow,
      maxMessageBytes: options.maxMessageBytes ?? RELAY_DEFAULTS.maxMessageBytes,
      spillDir: options.spillDir ?? RELAY_DEFAULTS.spillDir,
      spillMaxBytes: options.spillMaxBytes ?? RELAY_DEFAULTS.spillMaxBytes,
      onNotice: options.onNotice,
      fdReserve: options.fdReserve,
      acceptErrors: options.acceptErrors,
      listen: options.listen,
      target: options.target,
      random: options.random,
      onAccessLog: options.onAccessLog,
    };
    if (this.options.overflow !== 'block' && !this.options.messages) {
      throw new RangeError(`overflow ${this.options.overflow} needs message boundaries (messages: lines or u32be)`);
    }
    const proxyProtocol = proxyProtocolFrom(options, RELAY_DEFAULTS.proxyHeaderTimeoutMs);
    if (options.toxics) checkToxicsFit(options.toxics, options.messages !== undefined);
    // From here on the governor samples on an interval and holds the process's event-loop monitor:
    // a constructor that throws must give both back, or its timer would run against a server that
    // was never made (and crash the process that caught the error).
    this.governor = new Governor(
      {
        relayingConnections: () => this.table.relayingConnections(),
        activeConnections: () => this.table.active,
        setConcurrencyLimit: (limit) => this.table.setLimit(this.options.maxConns > 0 ? Math.min(limit, this.options.maxConns) : limit),
      },
      {
        ...(options.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: options.memoryBudgetBytes } : {}),
        ...(options.shedAt !== undefined ? { shedAt: options.shedAt } : {}),
        adaptiveConcurrency: this.options.adaptiveConcurrency,
        ...(this.options.maxConns > 0 ? { maxConcurrency: this.options.maxConns } : {}),
        now: this.options.now,
      },
    );
    try {
      this.blocks = new BlockPool({ budget: this.governor.budget, ...(options.collectAfterBurst !== false ? { afterBurst: () => this.collectAfterBurst() } : {}) });
      this.arrivalBursts = options.collectAfterBurst !== false ? new ArrivalBurstCollector(() => this.collectAfterBurst()) : null;
      this.connectionChargeBytes = connectionChargeFor(this.governor.budget.budgetBytes);
      this.table = new ConnectionTable({
        targetText: formatAddress(options.target),
        maxConns: this.governor.limit ? this.governor.limit.limit : this.options.maxConns,
        maxQueue: this.options.maxQueue,
        queueTimeoutMs: this.options.queueTimeoutMs,
        idleTimeoutMs: this.options.idleTimeoutMs,
        halfCloseTimeoutMs: this.options.halfCloseTimeoutMs,
        windowBytes: this.options.windowBytes,
        now: this.options.now,
        ...(options.onAccessLog ? { onAccessLog: options.onAccessLog } : {}),
        proxyName: options.proxyName,
        proxyProtocol,
        ...(options.connectionIds ? { ids: options.connectionIds } : {}),
        gate: () => (this.governor.accepting ? null : 'overloaded'),
        relayOptions: () => this.relayOptions(),
        onFinished: (result) => this.countMessages(result),
      });
      if (options.toxics) this.setToxics(options.toxics);
      // pauseOnConnect: nothing is read from a client until the table decides what to do with it.
      this.server = options.listener ?? createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
      this.server.on('connection', this.onAccepted);
      this.accepts = guardListener(this.server, 'relay listener', this.options);
    } catch (err) {
      this.governor.close();
      throw err;
    }
  }

  /**
   * Starts listening; resolves with the real address (the actual port when 0 was asked).
   * With spill, first prepares the spill directory (rejects with SpillDirError if unwritable).
   */
  async listen(): Promise<Address> {
    if (this.options.overflow === 'spill' && !this.spillStore) {
      const { SpillStore } = await import('../spill/spill-store.js'); // loaded only by a relay that spills
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
    // A listener handed over by a predecessor is listening already.
    const address = this.server.listening ? listeningAddress(this.server) : await listenOn(this.server, this.options.listen, LISTEN_BACKLOG);
    this.takeAccepts();
    return address;
  }

  // On the onread path, accepted connections become LeanSockets (lean-socket.ts): no net.Socket
  // is made for them, then destroyed for a re-wrap (adopt-socket.ts). Elsewhere, 'connection' as before.
  private takeAccepts(): void {
    if (this.acceptTakeover || this.options.readPath !== 'onread' || !leanTcp) return;
    this.acceptTakeover = leanTcp.takeAccepts(this.server, this.options.windowBytes, this.onLeanAccepted);
  }

  private readonly onLeanAccepted = (socket: LeanSocket): void => this.onConnection(asSocket(socket));

  /**
   * Hands the listening socket to a successor with other settings (`sluice serve` applying a
   * change to new connections): this server stops accepting at once, without closing the port, and
   * its own connections carry on until shutdown() drains them. Pass the result as `listener`.
   */
  handOverListener(): Server {
    this.acceptTakeover?.release();
    this.acceptTakeover = null;
    this.server.off('connection', this.onAccepted);
    this.accepts.detach();
    this.listenerHandedOver = true;
    return this.server;
  }

  /**
   * Accepts on the listener again after handOverListener(), as before it: the successor could not
   * start (it gave the listener up first), and this server keeps running as it was.
   */
  takeBackListener(): void {
    if (!this.listenerHandedOver) return;
    this.listenerHandedOver = false;
    this.server.on('connection', this.onAccepted);
    this.accepts.attach();
    this.takeAccepts();
  }

  /** The address the server is listening on. */
  address(): Address {
    return listeningAddress(this.server);
  }

  /** What /healthz answers: 503 with Retry-After while pressure is above --shed-at. */
  health(): HealthStatus {
    return this.governor.health();
  }

  /** The HAProxy agent-check reply line. */
  agentReply(): string {
    return this.governor.agentReply();
  }

  /** True when the client-to-target direction is framed in messages (what a `drop` toxic needs). */
  get messageMode(): boolean {
    return this.options.messages !== undefined;
  }

  /** The toxics on every connection now. */
  get toxics(): readonly ToxicSpec[] {
    return this.toxicList;
  }

  /**
   * Sets the toxics of every connection, open ones included (as toxiproxy applies toxics to live
   * links): a removed toxic hands on what it holds, then leaves; an added one is drawn against its
   * toxicity for each connection. Throws ToxicSpecError for a toxic this relay cannot carry.
   */
  setToxics(toxics: readonly ToxicSpec[]): void {
    checkToxicsFit(toxics, this.options.messages !== undefined);
    this.toxicList = [...toxics];
    for (const relay of this.table.relays()) {
      const applied = this.connectionToxics.get(relay);
      if (applied) applied.apply(this.toxicList);
      else this.addToxicsTo(relay);
    }
  }

  /** Connections holding a slot (connecting or relaying). */
  get activeConnections(): number {
    return this.table.active;
  }

  /** Clients waiting for a slot. */
  get queuedConnections(): number {
    return this.table.queued;
  }

  /** Live totals per direction, finished connections included. */
  stats(): { clientToTarget: DirectionTotals; targetToClient: DirectionTotals } {
    return this.table.stats();
  }

  /** Up to `limit` open connections as plain figures, and how many there are. */
  connectionViews(limit: number): { total: number; connections: ConnectionSummary[] } {
    return this.table.list(limit);
  }

  /** Resets one open connection by its id; false when there is none. */
  resetConnection(id: number): boolean {
    return this.table.reset(id);
  }

  /** The open connections for `/connections`: at most `limit`, busiest first, named `proxy` if given. */
  connections(limit: number, proxy?: string): ConnectionsPage {
    return this.table.listConnections(limit, proxy);
  }

  /** Bytes read but not yet flushed, over all connections. */
  bufferedBytes(): number {
    return this.table.bufferedBytes();
  }

  /**
   * Graceful shutdown: stop accepting, let connections finish for up to `drainTimeoutMs`,
   * then reset what is left. Resolves once every socket is closed.
   */
  async shutdown(drainTimeoutMs: number = RELAY_DEFAULTS.drainTimeoutMs): Promise<void> {
    const listenerClosed = this.listenerHandedOver ? Promise.resolve() : new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.table.shutdown(drainTimeoutMs);
    await listenerClosed;
    this.governor.close();
    this.blocks.close();
    this.arrivalBursts?.close();
    await this.spillStore?.close();
  }

  /** Bytes in spill files now. */
  spilledBytes(): number {
    return this.spillStore?.bytesOnDisk ?? 0;
  }

  /** Whole messages forwarded (message mode), finished and live connections. */
  messagesForwardedTotal(): number {
    let total = this.messagesForwarded;
    for (const relay of this.table.relays()) total += relay.messageCounts()?.forwarded ?? 0;
    return total;
  }

  /** Whole messages dropped by reason (message mode), finished and live connections. */
  messagesDroppedByReason(): Record<DropReason, number> {
    const out = { ...this.messagesDroppedBy };
    for (const relay of this.table.relays()) {
      const counts = relay.messageCounts();
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
    this.governor.registerMetrics(registry);
    registry.gauge('sluice_read_blocks_bytes', 'Memory of the read blocks now (given back 2 s after a block is freed).', () => this.blocks.committedBytes);
    registry.gauge('sluice_read_blocks_used_bytes', 'Read blocks in use (charged to the memory budget).', () => this.blocks.inUseBytes);
    registry.gauge('sluice_read_blocks_waiting', 'Directions not reading until a read block comes back.', () => this.blocks.waiting);
    registry.counter('sluice_read_blocks_overdrafts_total', 'Read blocks taken past the budget for bytes already read.', () => this.blocks.ledger.overdrafts);
    registry.counter('sluice_read_fallback_copies_total', 'Reads copied to a fresh allocation because even the overdraft was used up.', () => this.blocks.fallbacks);
    registry.counter('sluice_after_burst_gc_total', 'Full compacting garbage collections run after a burst.', () => this.afterBurstCollections);
    registry.counter('sluice_after_burst_gc_seconds_total', 'Time those collections took (the event loop waits meanwhile).', () => this.afterBurstCollectionMs / 1000);
    this.table.registerMetrics(registry);
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
  }

  private readonly onAccepted = (socket: Socket): void => this.onConnection(socket);

  private onConnection(accepted: Socket): void {
    if (!this.accepts.admit(accepted)) return;
    this.arrivalBursts?.arrived();
    const { socket, reader } = readAccepted(accepted, this.options.readPath, this.options.windowBytes, this.blocks);
    this.accepts.track(socket);
    // The connection itself is charged from accept to close, before the gate looks at the budget.
    this.governor.budget.adjust(this.connectionChargeBytes);
    socket.on('close', this.onClientClosed); // one shared listener ('close' comes once): no closure or once-wrapper each
    this.table.arrive(socket, clientEndpointOf(socket), this.openTarget, reader);
  }

  private readonly onClientClosed = (): void => {
    this.governor.budget.adjust(-this.connectionChargeBytes);
    this.blocks.wake();
  };

  // Connects to the target for an admitted client; every attempt is a latency sample for the governor.
  private readonly openTarget: OnwardOpener = (done) => {
    const reads = readDialled(this.options.readPath, this.blocks);
    const startedMs = this.options.now();
    const pending = connectTarget(
      this.options.target,
      this.options.connectTimeoutMs,
      { writableHighWaterMark: this.options.windowBytes, retryRefusedForMs: this.options.connectRetryMs, onread: reads.onread, fds: this.accepts.fds },
      (failure, target) => {
        // A failed connect counts as the slowest answer there is.
        this.governor.latency('connect', failure?.end === 'connect-timeout' ? this.options.connectTimeoutMs : this.options.now() - startedMs);
        if (failure || !target) return done({ end: failure?.end ?? 'connect-failed', ...(failure ? { error: failure.error } : {}) }, null);
        done(null, target, reads.readerFor(target));
      },
    );
    return () => pending.cancel();
  };

  // A new relay gets the toxics of now, before it reads its first byte; it is tracked only once there are any.
  private readonly addToxicsTo = (relay: Relay): void => {
    if (this.toxicList.length === 0) return;
    const toxics = new ConnectionToxics(relay, this.options.random);
    this.connectionToxics.set(relay, toxics);
    toxics.apply(this.toxicList);
  };

  private relayOptions(): ConnectionRelayOptions {
    const messages = this.options.messages;
    return {
      budget: this.governor.budget,
      onResume: this.onResume,
      rateBytesPerS: this.options.rateBytesPerS > 0 ? this.options.rateBytesPerS : undefined,
      messages: messages
        ? {
            framing: messages,
            maxMessageBytes: this.options.maxMessageBytes,
            policy: this.options.overflow,
            ...(this.spillStore ? { spool: this.spillStore.openSpool() } : {}),
          }
        : undefined,
      beforeStart: this.toxicList.length > 0 ? this.addToxicsTo : undefined,
    };
  }

  // A pause lasts as long as the slow side took to drain half a window: a latency sample,
  // normalised to milliseconds per 64 KiB so different windows compare.
  private readonly onResume = (pausedMs: number): void => {
    this.governor.latency('drain', (pausedMs * 65536) / Math.max(1, this.options.windowBytes / 2));
  };

  // The burst's heap goes back too: one full compacting GC, timed (it holds the event loop).
  private collectAfterBurst(): void {
    const startedMs = performance.now();
    if (!collectGarbage()) return;
    this.afterBurstCollections++;
    this.afterBurstCollectionMs += performance.now() - startedMs;
  }

  private countMessages(result: RelayResult): void {
    if (!result.messages) return;
    this.messagesForwarded += result.messages.forwarded;
    for (const r of DROP_REASONS) this.messagesDroppedBy[r] += result.messages.dropped[r];
  }
}
