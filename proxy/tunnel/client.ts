import { createServer, type Server, type Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { MemoryBudget } from '../../windowing/memory-budget.js';
import { Backoff, type BackoffOptions } from '../../windowing/backoff.js';
import { clientEndpointOf, formatAddress, type Address } from '../net/address.js';
import { asSocket, leanTcp } from '../net/lean-socket.js';
import { LISTEN_BACKLOG, listeningAddress, listenOn } from '../net/listen.js';
import { guardListener, type AcceptGuard } from '../net/accept-guard.js';
import { ConnectionTable } from '../relay/connection-table.js';
import { tunnelStreamOf } from './stream-view.js';
import type { ConnectionsPage } from '../signals/connections-view.js';
import { LINK_WAIT_FAILURES, LinkPool, type LinkWaitFailure } from './link-pool.js';
import type { MetricsRegistry } from '../signals/metrics.js';
import { readAccepted } from '../reads/socket-readers.js';
import { CreditReader } from './credit-reader.js';
import { CONNECTION_DEFAULTS } from '../relay/defaults.js';
import { checkTunnelOptions, pickBudgets, TUNNEL_DEFAULTS, type TunnelSidecarOptions } from './defaults.js';
import { address, durationMs, func, object, objectOrNull, whole, type Check } from '../relay/option-checks.js';
import { LinkMetrics } from './metrics.js';
import { proxyProtocolFrom } from '../relay/proxy-protocol.js';
import { tunnelArrivalBursts } from './arrival-bursts.js';

/**
 * The tunnel client sidecar: plain TCP in, every accepted connection a stream on a link to the
 * tunnel server.
 *
 *   client --> listener --> ConnectionTable (max-conns, queue) --> LinkPool.acquire (waits up to
 *                                                                  link-wait for a usable link)
 *              Relay(client, stream): client --socket reader--> stream  (held while the window is spent)
 *                                     stream --CreditReader---> client  (credit once flushed)
 *
 * A link that drops resets its streams (their clients see a reset) and is dialled again with
 * backoff; connections that arrive meanwhile wait a bounded time for it.
 */

/** Everything a tunnel client needs; the CLI fills it from flags. */
export interface TunnelClientOptions extends TunnelSidecarOptions {
  listen: Address;
  /** The tunnel server. */
  server: Address;
  /** node:tls client options (see tls-options.ts); null or absent for plain TCP links. */
  tls?: ConnectionOptions | null;
  /** Links to spread streams over; default 1. */
  links?: number;
  /** How long a new connection waits for a usable link before it is closed; default 5 s. */
  linkWaitMs?: number;
  /** Redial backoff of a dropped link. */
  backoff?: BackoffOptions;
  random?: () => number;
}

/** Defaults this sidecar adds to TUNNEL_DEFAULTS (frozen, like them). */
export const TUNNEL_CLIENT_DEFAULTS = Object.freeze({
  links: 1,
  linkWaitMs: 5_000, // like the connect timeout: a client waits about as long as a connect would
} as const);

// The backoff's own rule (windowing/backoff.ts), its option named as part of `backoff`.
const backoffCheck: Check = (name, value) => {
  object(name, value);
  try {
    new Backoff(value as BackoffOptions);
  } catch (err) {
    throw new RangeError(`${name}.${(err as Error).message}`);
  }
};

/** The access log's error for a connection that got no stream, by why. */
const LINK_WAIT_ERRORS: Record<LinkWaitFailure, string> = {
  'stream-limit': 'every tunnel link at its stream limit (--max-streams)',
  'backlog-full': 'every tunnel link awaiting acknowledgements (--accept-backlog)',
  'no-link': 'no tunnel link up',
};

/** A listening tunnel client; see the module comment. */
export class TunnelClient {
  readonly table: ConnectionTable;
  readonly pool: LinkPool;
  readonly metrics: LinkMetrics;
  private readonly server: Server;
  private readonly accepts: AcceptGuard;
  private readonly now: () => number;
  private readonly readPath: 'onread' | 'stream';
  private readonly windowBytes: number;
  private readonly windowBudget: MemoryBudget;
  private closing = false;
  private readonly arrivalBursts = tunnelArrivalBursts();

  constructor(private readonly options: TunnelClientOptions) {
    // Checked here, not when each link is dialled: a bad value would fail every link.
    checkTunnelOptions(options, { listen: address, server: address, tls: objectOrNull, links: whole(1), linkWaitMs: durationMs(0), backoff: backoffCheck, random: func }, ['listen', 'server']);
    this.now = options.now ?? (() => performance.now());
    this.readPath = options.readPath ?? TUNNEL_DEFAULTS.readPath;
    this.windowBytes = CONNECTION_DEFAULTS.windowBytes;
    this.windowBudget = new MemoryBudget({ budgetBytes: options.windowBudgetBytes ?? TUNNEL_DEFAULTS.windowBudgetBytes });
    this.table = new ConnectionTable({
      targetText: `tunnel:${formatAddress(options.server)}`,
      maxConns: options.maxConns ?? TUNNEL_DEFAULTS.maxConns,
      maxQueue: options.maxQueue ?? TUNNEL_DEFAULTS.maxQueue,
      queueTimeoutMs: options.queueTimeoutMs ?? TUNNEL_DEFAULTS.queueTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs ?? TUNNEL_DEFAULTS.idleTimeoutMs,
      halfCloseTimeoutMs: options.halfCloseTimeoutMs ?? TUNNEL_DEFAULTS.halfCloseTimeoutMs,
      windowBytes: this.windowBytes,
      now: this.now,
      ...(options.onAccessLog ? { onAccessLog: options.onAccessLog } : {}),
      proxyProtocol: proxyProtocolFrom(options, CONNECTION_DEFAULTS.proxyHeaderTimeoutMs),
      streamOf: tunnelStreamOf,
    });
    this.pool = new LinkPool({
      server: options.server,
      links: options.links ?? TUNNEL_CLIENT_DEFAULTS.links,
      connectTimeoutMs: options.connectTimeoutMs ?? TUNNEL_DEFAULTS.connectTimeoutMs,
      tls: options.tls ?? null,
      now: this.now,
      readPath: this.readPath,
      session: {
        keepaliveIntervalMs: options.keepaliveIntervalMs ?? TUNNEL_DEFAULTS.keepaliveIntervalMs,
        windowBudget: this.windowBudget,
        ...pickBudgets(options),
        ...(options.errorLingerMs !== undefined ? { errorLingerMs: options.errorLingerMs } : {}),
        ...(options.windowBytes !== undefined ? { initialWindowBytes: options.windowBytes } : {}),
        ...(options.maxWindowBytes !== undefined ? { maxWindowBytes: options.maxWindowBytes } : {}),
        ...(options.autoTune !== undefined ? { autoTune: options.autoTune } : {}),
        ...(options.maxStreams !== undefined ? { maxStreams: options.maxStreams } : {}),
      },
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...(options.onLinkLog ? { onLog: options.onLinkLog } : {}),
      onLinkUp: (session) => {
        this.metrics.opened();
        session.once('close', () => this.metrics.retire(session));
      },
    });
    this.metrics = new LinkMetrics(() => this.pool.views());
    // pauseOnConnect: nothing is read from a client until its stream is open.
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => this.onConnection(socket));
    this.accepts = guardListener(this.server, 'tunnel-client listener', options);
  }

  /** Starts the links and the listener; resolves with the listener's real address. */
  async listen(): Promise<Address> {
    this.pool.start();
    const address = await listenOn(this.server, this.options.listen, LISTEN_BACKLOG);
    // On the onread path clients arrive as LeanSockets (lean-socket.ts), as the relay's do.
    if (this.readPath === 'onread') leanTcp?.takeAccepts(this.server, this.windowBytes, (socket) => this.onConnection(asSocket(socket)));
    return address;
  }

  /** The address the listener is on. */
  address(): Address {
    return listeningAddress(this.server);
  }

  /**
   * Graceful shutdown: stop accepting, let connections finish for up to `drainTimeoutMs`, reset
   * what is left, then close the links.
   */
  async shutdown(drainTimeoutMs: number = TUNNEL_DEFAULTS.drainTimeoutMs): Promise<void> {
    this.closing = true;
    this.arrivalBursts.close();
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.pool.goAway();
    await this.table.shutdown(drainTimeoutMs);
    await this.pool.close();
    await listenerClosed;
  }

  /** The open connections for `/connections`: at most `limit`, busiest first, named `proxy` if given. */
  connections(limit: number, proxy?: string): ConnectionsPage {
    return this.table.listConnections(limit, proxy);
  }

  /** Adds the connection, link and stream metrics to a registry. */
  registerMetrics(registry: MetricsRegistry): void {
    this.table.registerMetrics(registry);
    this.metrics.register(registry);
    registry.counter('sluice_tunnel_link_reconnects_total', 'Times a link was dialled again after it dropped, failed or went away.', () => this.pool.reconnects);
    registry.gauge('sluice_tunnel_window_budget_used_bytes', 'Auto-tuned window growth granted now, out of the window budget.', () => this.windowBudget.usedBytes);
    registry.gauge('sluice_tunnel_link_waiters', 'Connections waiting for a usable link.', () => this.pool.waiting);
    registry.counter(
      'sluice_tunnel_link_wait_timeouts_total',
      'Connections closed after --link-wait without a stream, by why: every link at --max-streams (stream-limit), every link awaiting the server\'s acknowledgements (backlog-full), no link up (no-link).',
      () => LINK_WAIT_FAILURES.map((reason) => ({ labels: { reason }, value: this.pool.waitTimeouts[reason] })),
    );
  }

  private onConnection(accepted: Socket): void {
    if (!this.accepts.admit(accepted)) return;
    const { socket: client, reader } = readAccepted(accepted, this.readPath, this.windowBytes);
    if (this.closing) {
      client.destroy();
      return;
    }
    this.accepts.track(client);
    this.arrivalBursts.arrived();
    const linkWaitMs = this.options.linkWaitMs ?? TUNNEL_CLIENT_DEFAULTS.linkWaitMs;
    this.table.arrive(
      client,
      clientEndpointOf(client),
      (done) =>
        this.pool.acquire(linkWaitMs, (stream, why) => {
          if (stream === null) done({ end: 'connect-timeout', error: LINK_WAIT_ERRORS[why ?? 'no-link'] }, null);
          else done(null, stream, new CreditReader(stream));
        }),
      reader,
    );
  }
}
