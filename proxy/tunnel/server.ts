import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { tlsModule } from '../net/tls-module.js';
import { clientEndpointOf, describePeer, formatAddress, type Address, type Endpoint } from '../net/address.js';
import { LISTEN_BACKLOG, listeningAddress, listenOn } from '../net/listen.js';
import { guardListener, type AcceptGuard } from '../net/accept-guard.js';
import { adoptWithReadHook } from '../reads/adopt-socket.js';
import { connectTarget } from '../net/connect.js';
import { LinkReads, linkReadPool } from './link-reads.js';
import { checkTunnelOptions, pickBudgets, TUNNEL_DEFAULTS, type TunnelSidecarOptions } from './defaults.js';
import { address, durationMs, objectOrNull } from '../relay/option-checks.js';
import { MemoryBudget } from '../../windowing/memory-budget.js';
import { ConnectionTable } from '../relay/connection-table.js';
import { tunnelStreamOf } from './stream-view.js';
import type { ConnectionsPage } from '../signals/connections-view.js';
import type { MetricsRegistry } from '../signals/metrics.js';
import { readDialled } from '../reads/socket-readers.js';
import { CreditReader } from './credit-reader.js';
import { CONNECTION_DEFAULTS } from '../relay/defaults.js';
import { LinkMetrics, type LinkView } from './metrics.js';
import { TunnelSession } from './session.js';
import type { TunnelStream } from './stream.js';
import { proxyProtocolFrom } from '../relay/proxy-protocol.js';
import { tunnelArrivalBursts } from './arrival-bursts.js';

/**
 * The tunnel server sidecar: framed links in, one TCP connection to the fixed target per stream.
 * The target comes from this server's own configuration only; nothing a client sends can choose
 * where it connects (no open proxy).
 *
 *   link (TCP or mutual TLS) --> TunnelSession (acceptor; credit 'manual'; streams accepted late)
 *      'stream' --> ConnectionTable (max-conns, queue) --> connect target --> accept (ACK)
 *                                                             | failure: RST the stream
 *                     Relay(stream, target): stream --CreditReader--> target   (credit once flushed)
 *                                            target --socket reader-> stream  (write() false = window spent)
 *
 * Shutdown sends a go away on every link (new streams are refused), lets the live ones finish
 * for the drain time, resets the rest and closes the links.
 */

// The peer of each TLS link still in its handshake, as its TCP accept saw it.
const peers = new WeakMap<Socket, string>();

/**
 * Why a TLS handshake failed, in one line: OpenSSL's reason without its source file and line (its
 * message spans two lines), or why the client certificate was not accepted (Node then reports
 * only "socket hang up").
 */
export function handshakeFailure(err: Error & { reason?: string; code?: string }, socket: { authorizationError?: Error | string | null }): string {
  if (socket.authorizationError) return `client certificate not accepted: ${String(socket.authorizationError)}`;
  if (typeof err.reason === 'string' && err.reason !== '') return err.reason;
  return err.message.split('\n')[0]!.trim();
}

/** Everything a tunnel server needs; the CLI fills it from flags. */
export interface TunnelServerOptions extends TunnelSidecarOptions {
  listen: Address;
  target: Address;
  /** node:tls server options (see tls-options.ts); null or absent for plain TCP links. */
  tls?: TlsOptions | null;
  /**
   * A new link must finish its TLS handshake, and then answer the session's first ping, each
   * within this long, or it is closed; default 5 s. (Also the TLS `handshakeTimeout` unless
   * `tls` sets one.)
   */
  handshakeTimeoutMs?: number;
}

interface Link extends LinkView {
  readonly remote: string;
  /** The link's ends: every stream on it comes from this source (trust for a PROXY header, addresses to send on). */
  readonly source: Endpoint;
  readonly destination: Endpoint;
}

/** A listening tunnel server; see the module comment. */
export class TunnelServer {
  /** Connections (streams) toward the target. */
  readonly table: ConnectionTable;
  readonly metrics: LinkMetrics;
  private readonly server: Server;
  private readonly accepts: AcceptGuard;
  private readonly links = new Set<Link>();
  private readonly now: () => number;
  private readonly windowBudget: MemoryBudget;
  private nextLinkId = 1;
  private closing = false;
  private readonly arrivalBursts = tunnelArrivalBursts();
  private handshakesRefused = 0;
  /** TLS links still in their handshake (their TCP sockets): not links yet, so shutdown closes them itself. */
  private readonly handshaking = new Set<Socket>();

  constructor(private readonly options: TunnelServerOptions) {
    // Checked here, not when each link's session is made: a bad value would fail every link.
    checkTunnelOptions(options, { listen: address, target: address, tls: objectOrNull, handshakeTimeoutMs: durationMs(0) }, ['listen', 'target']);
    this.now = options.now ?? (() => performance.now());
    this.table = new ConnectionTable({
      targetText: formatAddress(options.target),
      maxConns: options.maxConns ?? TUNNEL_DEFAULTS.maxConns,
      maxQueue: options.maxQueue ?? TUNNEL_DEFAULTS.maxQueue,
      queueTimeoutMs: options.queueTimeoutMs ?? TUNNEL_DEFAULTS.queueTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs ?? TUNNEL_DEFAULTS.idleTimeoutMs,
      halfCloseTimeoutMs: options.halfCloseTimeoutMs ?? TUNNEL_DEFAULTS.halfCloseTimeoutMs,
      windowBytes: CONNECTION_DEFAULTS.windowBytes,
      now: this.now,
      ...(options.onAccessLog ? { onAccessLog: options.onAccessLog } : {}),
      proxyProtocol: proxyProtocolFrom(options, CONNECTION_DEFAULTS.proxyHeaderTimeoutMs),
      streamOf: tunnelStreamOf,
    });
    this.metrics = new LinkMetrics(() => this.links);
    this.windowBudget = new MemoryBudget({ budgetBytes: options.windowBudgetBytes ?? TUNNEL_DEFAULTS.windowBudgetBytes });
    if (options.tls) {
      const tls = { handshakeTimeout: options.handshakeTimeoutMs ?? TUNNEL_DEFAULTS.handshakeTimeoutMs, ...options.tls };
      const server = tlsModule().createServer(tls, (socket) => this.onLink(socket));
      // A handshake holds a descriptor from the TCP accept on: the reserve must apply there, or
      // clients that never finish theirs take every descriptor (found from outside: 250 of them
      // under a limit of 200 left /healthz unanswered and target connects failing with EMFILE).
      // Node's own 'connection' listener wraps the socket in TLS; this one runs first.
      server.prependListener('connection', (raw: Socket) => {
        if (!this.accepts.admit(raw)) return;
        this.accepts.track(raw);
        this.handshaking.add(raw);
        raw.once('close', () => this.handshaking.delete(raw));
        // Read now: a socket refused for its certificate is destroyed before tlsClientError.
        peers.set(raw, describePeer(raw));
      });
      server.on('tlsClientError', (err, socket) => {
        const raw = (socket as unknown as { _parent?: Socket })._parent;
        // A socket the reserve closed above was already counted and told.
        // So was one shutdown closed ("socket hang up" would blame the client).
        if ((raw?.destroyed && !peers.has(raw)) || this.closing) return socket.destroy();
        this.handshakesRefused++;
        options.onLinkLog?.(`link from ${(raw && peers.get(raw)) ?? describePeer(socket)} refused: ${handshakeFailure(err, socket)}`);
        // Node reports a handshake timeout here and leaves the socket open: a client that never
        // finishes its handshake would hold it for good.
        socket.destroy();
      });
      this.server = server;
    } else {
      // pauseOnConnect: a link is read from only once its session is there (see onLink).
      this.server = createNetServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.onLink(socket));
    }
    this.accepts = guardListener(this.server, 'tunnel-server listener', options);
  }

  /** Starts listening; resolves with the real address (the actual port when 0 was asked). */
  listen(): Promise<Address> {
    return listenOn(this.server, this.options.listen, LISTEN_BACKLOG);
  }

  /** The address the server is listening on. */
  address(): Address {
    return listeningAddress(this.server);
  }

  /** The live links. */
  liveLinks(): TunnelSession[] {
    return [...this.links].map((l) => l.session);
  }

  /**
   * Graceful shutdown: stop accepting links, go away on every link, let streams finish for up to
   * `drainTimeoutMs`, then reset what is left and close the links.
   */
  async shutdown(drainTimeoutMs: number = TUNNEL_DEFAULTS.drainTimeoutMs): Promise<void> {
    this.closing = true;
    this.arrivalBursts.close();
    // The listener closes only once every socket has: a client that never finishes its handshake
    // would hold shutdown for its whole --handshake-timeout, past --drain-timeout.
    for (const raw of this.handshaking) raw.destroy();
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const link of this.links) link.session.goAway();
    await this.table.shutdown(drainTimeoutMs);
    await Promise.all([...this.links].map((l) => l.session.close()));
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
    registry.gauge('sluice_tunnel_window_budget_used_bytes', 'Auto-tuned window growth granted now, out of the window budget.', () => this.windowBudget.usedBytes);
    registry.counter('sluice_tunnel_handshakes_refused_total', 'Links refused during the TLS handshake (no or untrusted client certificate).', () => this.handshakesRefused);
  }

  private onLink(accepted: Socket): void {
    // A TLS link was admitted and tracked at its TCP accept (see the constructor).
    if (!this.options.tls && !this.accepts.admit(accepted)) return;
    if (this.options.tls) this.handshaking.delete((accepted as unknown as { _parent?: Socket })._parent!);
    let socket = accepted;
    let reads: LinkReads | undefined;
    if (!this.options.tls && (this.options.readPath ?? TUNNEL_DEFAULTS.readPath) === 'onread') {
      reads = new LinkReads(linkReadPool);
      const adopted = adoptWithReadHook(accepted, reads);
      if (adopted) socket = adopted;
      else reads = undefined;
    }
    socket.setNoDelay(true);
    if (!this.options.tls) this.accepts.track(socket);
    const session = new TunnelSession(socket, {
      ...(reads ? { reads } : {}),
      role: 'acceptor',
      credit: 'manual',
      autoAccept: false,
      keepaliveIntervalMs: this.options.keepaliveIntervalMs ?? TUNNEL_DEFAULTS.keepaliveIntervalMs,
      handshakeTimeoutMs: this.options.handshakeTimeoutMs ?? TUNNEL_DEFAULTS.handshakeTimeoutMs,
      ...(this.options.errorLingerMs !== undefined ? { errorLingerMs: this.options.errorLingerMs } : {}),
      ...pickBudgets(this.options),
      now: this.now,
      windowBudget: this.windowBudget,
      ...(this.options.windowBytes !== undefined ? { initialWindowBytes: this.options.windowBytes } : {}),
      ...(this.options.maxWindowBytes !== undefined ? { maxWindowBytes: this.options.maxWindowBytes } : {}),
      ...(this.options.autoTune !== undefined ? { autoTune: this.options.autoTune } : {}),
      ...(this.options.maxStreams !== undefined ? { maxStreams: this.options.maxStreams } : {}),
    });
    const ends = clientEndpointOf(socket);
    const link: Link = { label: String(this.nextLinkId++), session, remote: ends.text, source: ends.source, destination: ends.destination };
    this.links.add(link);
    this.metrics.opened();
    this.options.onLinkLog?.(`link ${link.label} from ${link.remote} up`);
    session.on('stream', (stream: TunnelStream) => {
      this.arrivalBursts.arrived();
      const endpoint = { text: `${link.remote}#${stream.streamId}`, source: link.source, destination: link.destination };
      this.table.arrive(stream, endpoint, (done) => this.openTarget(stream, done), new CreditReader(stream));
    });
    session.once('close', (error: Error | null) => {
      this.links.delete(link);
      this.metrics.retire(session);
      this.options.onLinkLog?.(`link ${link.label} from ${link.remote} closed${error ? `: ${error.message}` : ''}`);
    });
    if (this.closing) void session.close();
  }

  private openTarget(stream: TunnelStream, done: Parameters<Parameters<ConnectionTable['arrive']>[2]>[0]): () => void {
    const reads = readDialled(this.options.readPath ?? TUNNEL_DEFAULTS.readPath);
    const pending = connectTarget(
      this.options.target,
      this.options.connectTimeoutMs ?? TUNNEL_DEFAULTS.connectTimeoutMs,
      { onread: reads.onread, fds: this.accepts.fds },
      (failure, target) => {
        if (failure || !target) return done({ end: failure?.end ?? 'connect-failed', reset: true, ...(failure ? { error: failure.error } : {}) }, null);
        // Acknowledge the stream only now that the target is there; a failure above resets it instead.
        stream.accept();
        done(null, target, reads.readerFor(target));
      },
    );
    return () => pending.cancel();
  }
}
