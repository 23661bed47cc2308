import type { ConnectionOptions } from 'node:tls';
import { Backoff, type BackoffOptions } from '../../windowing/backoff.js';
import { chooseLink } from '../../windowing/link-choice.js';
import { DEFAULT_MAX_STREAMS } from '../../windowing/yamux/constants.js';
import type { Address } from '../net/address.js';
import { dialLink, type PendingDial } from './dial-link.js';
import { LinkReads, linkReadPool } from './link-reads.js';
import type { LinkView } from './metrics.js';
import { TunnelSession, type TunnelSessionOptions } from './session.js';
import type { TunnelStream } from './stream.js';

/**
 * The tunnel client's links to its server: `links` slots, each keeping one link up. A slot dials,
 * runs a session while the link lives, and when the link drops (its streams are reset by the
 * session) dials again after a backoff; the backoff starts over once a link stayed up (answered its
 * first ping and lived on) for the backoff's longest delay, so a server that answers and then drops
 * or goes away at once is redialled ever more slowly, not in a storm. A link whose server says go
 * away keeps its streams until they finish, while the slot dials a fresh link: at once after a
 * link that stayed up that long, else after the backoff. New streams go to the usable link with
 * the fewest streams; callers that find none wait, for a bounded time, for one to come up. A pool
 * holds at most `links` x `maxStreams` streams (1000 by default): past that, callers wait for a
 * stream to close, and the pool says so in a log line (at most once a minute) and in
 * `waitTimeouts` (why each wait failed).
 *
 *   slot: connecting --dial ok, first ping answered--> up --close--> backoff --timer--> connecting ...
 *            '--dial fails, or closed before the ping--> backoff     '--go away--> (retiring) + connecting
 *                                                                        (or + backoff, if up only briefly)
 */

/** Session options a pool passes to every link. */
export type LinkSessionOptions = Omit<TunnelSessionOptions, 'role' | 'credit' | 'autoAccept' | 'now'>;

/** How a pool reaches its server. */
export interface LinkPoolOptions {
  server: Address;
  /** Links to keep up (`--links N`). */
  links: number;
  /** Give up a dial (TCP connect and TLS handshake) after this long. */
  connectTimeoutMs: number;
  /** node:tls client options for mutual TLS; null for plain TCP. */
  tls: ConnectionOptions | null;
  session?: LinkSessionOptions;
  backoff?: BackoffOptions;
  /** Uniform [0, 1) source for backoff jitter; default Math.random. */
  random?: () => number;
  now?: () => number;
  /** One line about a link (up, lost and why, next attempt). */
  onLog?: (line: string) => void;
  /** Called with every new link's session (for metrics). */
  onLinkUp?: (session: TunnelSession) => void;
  /** 'onread' (default): plain TCP links read into pooled buffers; 'stream': ordinary 'data' events. */
  readPath?: 'onread' | 'stream';
}

type SlotState = 'connecting' | 'up' | 'backoff' | 'stopped';

/**
 * Why a wait for a stream ended without one: every usable link at its stream limit, every usable
 * link's backlog of unacknowledged streams full, or no link up.
 */
export type LinkWaitFailure = 'stream-limit' | 'backlog-full' | 'no-link';

/** The failures in the order the metrics list them. */
export const LINK_WAIT_FAILURES: readonly LinkWaitFailure[] = ['stream-limit', 'backlog-full', 'no-link'];

/** How often at most the pool logs that new connections wait because every link is at its stream limit. */
export const STREAM_LIMIT_LOG_INTERVAL_MS = 60_000;

interface Slot {
  readonly index: number;
  readonly label: string;
  state: SlotState;
  session: TunnelSession | null;
  dial: PendingDial | null;
  timer: NodeJS.Timeout | null;
  readonly backoff: Backoff;
  /** When the current link answered its first ping (now()), or null while it has not. */
  upAt: number | null;
  /**
   * Why the current link refused to open a stream (its limits), or null; cleared when one of its
   * streams closes, or when the server acknowledges one (the backlog of unacknowledged streams shrank).
   */
  full: 'too-many-streams' | 'backlog-full' | null;
  /** The failure last logged and how often in a row it came; cleared once a link is up. */
  failure: { why: string; times: number } | null;
}

/** Called with a stream, or with null and why there is none. */
export type AcquireDone = (stream: TunnelStream | null, why?: LinkWaitFailure) => void;

interface Waiter {
  done: AcquireDone;
  timer: NodeJS.Timeout;
}

/** See the module comment. */
export class LinkPool {
  /** Times a slot dialled again after losing or failing to get a link. */
  reconnects = 0;
  /** Waits that ended without a stream, by why. */
  readonly waitTimeouts: Record<LinkWaitFailure, number> = { 'stream-limit': 0, 'backlog-full': 0, 'no-link': 0 };
  /** The most streams one link takes (the session's `maxStreams`). */
  readonly maxStreamsPerLink: number;
  private streamLimitLoggedAt = -Infinity;
  private readonly slots: Slot[];
  // Links whose server went away, finishing their streams, with their metric labels.
  private readonly retiring = new Map<TunnelSession, string>();
  private retiredCount = 0;
  private readonly waiters = new Set<Waiter>();
  private readonly random: () => number;
  private readonly now: () => number;
  private cursor = 0;
  private stopped = false;

  constructor(private readonly options: LinkPoolOptions) {
    if (!Number.isSafeInteger(options.links) || options.links < 1) throw new RangeError(`links must be a whole number >= 1, got ${options.links}`);
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
    this.slots = Array.from({ length: options.links }, (_, index) => ({
      index,
      label: String(index),
      state: 'backoff' as SlotState,
      session: null,
      dial: null,
      timer: null,
      backoff: new Backoff(options.backoff),
      failure: null,
      upAt: null,
      full: null,
    }));
    this.maxStreamsPerLink = options.session?.maxStreams ?? DEFAULT_MAX_STREAMS;
  }

  /** Dials every link. */
  start(): void {
    for (const slot of this.slots) if (slot.state === 'backoff' && slot.timer === null) this.dial(slot);
  }

  /** Links up and usable for new streams. */
  get linksUp(): number {
    return this.slots.filter((s) => s.state === 'up').length;
  }

  /** Callers waiting for a link. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** The live links, for metrics: current ones by slot, going-away ones too. */
  views(): LinkView[] {
    const out: LinkView[] = [];
    for (const slot of this.slots) if (slot.session !== null) out.push({ label: slot.label, session: slot.session });
    for (const [session, label] of this.retiring) out.push({ label, session });
    return out;
  }

  /** Opens a stream on the usable link with the fewest streams, or returns null when none can take one now. */
  tryOpen(): TunnelStream | null {
    const tried = new Set<number>();
    for (;;) {
      const loads = this.slots.map((s) => ({
        usable: !tried.has(s.index) && !s.full && s.state === 'up' && s.session !== null && s.session.isOpen,
        streams: s.session?.streamCount ?? 0,
      }));
      const k = chooseLink(loads, this.cursor++);
      if (k === -1) return null;
      const slot = this.slots[k]!;
      const stream = slot.session!.tryOpen();
      if (typeof stream !== 'string') {
        // on(), not once(): a stream closes once, and once() costs a wrapper per stream.
        stream.on('close', this.onStreamClosed);
        return stream;
      }
      tried.add(k);
      if (stream === 'too-many-streams' || stream === 'backlog-full') slot.full = stream;
    }
  }

  /**
   * Why no stream can be opened now (call after tryOpen() returned null): the stream limit only
   * when every link up is at it; one still awaiting acknowledgements will take streams again soon.
   */
  whyNoStream(): LinkWaitFailure {
    const refusing = this.slots.filter((s) => s.state === 'up' && s.session !== null && s.session.isOpen && s.full !== null);
    if (refusing.length === 0) return 'no-link';
    return refusing.every((s) => s.full === 'too-many-streams') ? 'stream-limit' : 'backlog-full';
  }

  /**
   * Calls `done` with a stream as soon as one can be opened (at once if possible), or with null
   * after `waitMs`. Returns a function that cancels the wait.
   */
  acquire(waitMs: number, done: AcquireDone): () => void {
    const stream = this.stopped ? null : this.tryOpen();
    if (stream !== null || this.stopped) {
      done(stream, stream === null ? 'no-link' : undefined);
      return noop;
    }
    if (this.whyNoStream() === 'stream-limit') this.logStreamLimit(waitMs);
    const waiter: Waiter = {
      done,
      timer: setTimeout(() => {
        this.waiters.delete(waiter);
        const why = this.whyNoStream();
        this.waitTimeouts[why]++;
        done(null, why);
      }, waitMs),
    };
    this.waiters.add(waiter);
    return () => {
      if (this.waiters.delete(waiter)) clearTimeout(waiter.timer);
    };
  }

  /** Sends a go away on every link (we open nothing more) without closing them. */
  goAway(): void {
    for (const { session } of this.views()) session.goAway();
  }

  /** Stops dialling and closes every link once its streams are done; resolves when all are closed. */
  async close(): Promise<void> {
    this.stopped = true;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.done(null, 'no-link');
    }
    this.waiters.clear();
    const closing: Promise<unknown>[] = [];
    for (const slot of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      slot.dial?.cancel();
      slot.dial = null;
      slot.state = 'stopped';
      if (slot.session) closing.push(slot.session.close());
    }
    for (const session of this.retiring.keys()) closing.push(session.close());
    await Promise.all(closing);
  }

  /** Closes every link now (their streams are reset). */
  destroy(): void {
    void this.close();
    for (const { session } of this.views()) session.destroy();
  }

  private dial(slot: Slot): void {
    if (this.stopped) return;
    slot.state = 'connecting';
    slot.timer = null;
    const reads = this.options.tls || this.options.readPath === 'stream' ? undefined : new LinkReads(linkReadPool);
    slot.dial = dialLink(this.options.server, this.options.tls, this.options.connectTimeoutMs, (error, socket) => {
      slot.dial = null;
      if (error || !socket) return this.retry(slot, `cannot connect: ${error?.message ?? 'no socket'}`);
      const session = new TunnelSession(socket, {
        ...this.options.session,
        role: 'dialer',
        credit: 'manual',
        now: this.now,
        ...(reads ? { reads } : {}),
      });
      slot.session = session;
      slot.full = null;
      this.options.onLinkUp?.(session);
      // Usable only once the peer answered the session's first ping: it speaks the protocol, and
      // (with TLS 1.3, where a client learns of a refused certificate only after its handshake)
      // it accepted us. Until then no stream is put on it.
      const handshake = setTimeout(() => session.destroy(new Error(`no reply to the first ping within ${this.options.connectTimeoutMs} ms`)), this.options.connectTimeoutMs);
      session.once('rtt', () => {
        clearTimeout(handshake);
        if (slot.session !== session) return;
        slot.state = 'up';
        slot.upAt = this.now();
        slot.failure = null;
        this.options.onLog?.(`link ${slot.label} up`);
        this.serveWaiters();
      });
      // A link full only because too many streams await the server's acknowledgement can take
      // more as soon as one is acknowledged: waiters must not sit out their wait (a burst of
      // new connections over a server slow to reach its target would lose them all).
      session.on('streamAccepted', () => {
        if (slot.session !== session || slot.full === null) return;
        slot.full = null;
        this.serveWaiters();
      });
      session.on('goAway', (code: number) => {
        if (code !== 0 || slot.session !== session) return;
        // The server is going away: its live streams finish here, new ones need a fresh link.
        slot.session = null;
        this.retiring.set(session, `${slot.label}-going-away-${++this.retiredCount}`);
        void session.close().then(() => this.retiring.delete(session));
        const upAt = slot.upAt;
        if (this.settleBackoff(slot)) {
          this.options.onLog?.(`link ${slot.label}: the server is going away; dialling a fresh link`);
          this.reconnects++;
          this.dial(slot);
        } else {
          const why = upAt === null ? 'refused: the server is going away before the link answered a ping' : `lost: the server is going away ${Math.round(this.now() - upAt)} ms after the link came up`;
          this.retry(slot, why);
        }
      });
      session.once('close', (why: Error | null) => {
        clearTimeout(handshake);
        this.retiring.delete(session);
        if (slot.session !== session) return;
        slot.session = null;
        const wasUp = slot.state === 'up';
        this.settleBackoff(slot);
        this.retry(slot, `${wasUp ? 'lost' : 'refused'}: ${why?.message ?? 'the server closed it'}`);
      });
    }, reads);
  }

  /**
   * Starts the backoff over if the slot's link, now gone, stayed up for the backoff's longest
   * delay, and says whether it did. Starting over on the first ping alone let a server that
   * answers and then drops the link (or goes away) have us redial ten times a second, or at once,
   * forever.
   */
  private settleBackoff(slot: Slot): boolean {
    const upAt = slot.upAt;
    slot.upAt = null;
    if (upAt === null || this.now() - upAt < slot.backoff.maxMs) return false;
    slot.backoff.reset();
    return true;
  }

  private retry(slot: Slot, why: string): void {
    if (this.stopped) return;
    const delayMs = slot.backoff.next(this.random());
    slot.state = 'backoff';
    // A server that is down, or a certificate that is wrong, fails every attempt the same way: say
    // so twice (the second time that it goes on), not once per attempt for as long as it lasts.
    const times = slot.failure?.why === why ? slot.failure.times + 1 : 1;
    slot.failure = { why, times };
    if (times === 1) this.options.onLog?.(`link ${slot.label} ${why}; retrying in ${delayMs} ms`);
    else if (times === 2) {
      this.options.onLog?.(
        `link ${slot.label} ${why} again; retrying with backoff up to ${slot.backoff.maxMs} ms, not logged again until the failure changes or the link is up (sluice_tunnel_link_reconnects_total counts the attempts)`,
      );
    }
    this.reconnects++;
    slot.timer = setTimeout(() => this.dial(slot), delayMs);
  }

  private readonly onStreamClosed = (): void => {
    for (const slot of this.slots) slot.full = null;
    this.serveWaiters();
  };

  /**
   * A documented limit, not a fault, but one that closes connections: say so where an operator
   * looks, at most once a minute while it lasts.
   */
  private logStreamLimit(waitMs: number): void {
    const at = this.now();
    if (at - this.streamLimitLoggedAt < STREAM_LIMIT_LOG_INTERVAL_MS) return;
    this.streamLimitLoggedAt = at;
    const links = this.slots.length;
    this.options.onLog?.(
      `every link is at its stream limit (${this.maxStreamsPerLink} streams on each of ${links} link${links === 1 ? '' : 's'}: --max-streams, --links); ` +
        `new connections wait up to ${waitMs} ms (--link-wait) for a stream to close, then are closed`,
    );
  }

  private serveWaiters(): void {
    for (const waiter of this.waiters) {
      const stream = this.tryOpen();
      if (stream === null) return;
      this.waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.done(stream);
    }
  }
}

function noop(): void {}
