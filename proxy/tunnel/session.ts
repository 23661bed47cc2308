/**
 * A tunnel session: many streams over one connected duplex (TCP, TLS, a unix socket, an in-memory
 * pair), speaking the yamux wire format. It drives the pure windowing Session and carries out
 * what it decides:
 *
 *   link 'data' --receive(chunk, now)--> events --> TunnelStream (push, end, reset, writable)
 *                                              \--> 'stream' (peer opened one), 'goAway', 'rtt'
 *   TunnelStream write/end/destroy, acknowledge --> send / close / reset / consumed
 *                                                        |  (frames queued in the Session)
 *   link.write (cork ... uncork = one writev) <--takeOutbound()-- after the callback (data frames)
 *                                                                or the turn (window updates)
 *        '--> write callback: flushed(batch) (releases the control-reply budget), stream callbacks
 *
 * The link is always read: every byte the peer may send fits in a window we granted, so a stalled
 * stream never holds up the others. A ping goes out at once (to seed the round-trip time that
 * window auto-tuning needs), another as soon as it is answered (the first answer may come from a
 * process still starting up, several times slower than the link), and then one every keepalive
 * interval; an unanswered one closes the link.
 * Protocol errors queue a go away, which is flushed before the link is closed.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { Session, type OpenRefusal, type SendResult, type SessionEvent, type SessionStats } from '../../windowing/yamux/session.js';
import { StreamPhase, type StreamInfo } from '../../windowing/yamux/stream.js';
import type { SessionOptions, SessionRole } from '../../windowing/yamux/limits.js';
import {
  HandshakeTimeoutError,
  KeepaliveTimeoutError,
  LinkLostError,
  RemoteGoAwayError,
  StreamOpenError,
  TunnelProtocolError,
} from './errors.js';
import { isPooledRead, retainRead, type LinkReads } from './link-reads.js';
import { CREDIT_MODES, TunnelStream, type CreditMode, type PinAllowance, type StreamCarrier } from './stream.js';
import { bool, checkOptions, durationMs, func, object, oneOf, type Checks } from '../relay/option-checks.js';

/** Options for a tunnel session; everything but `role` has a default. */
export interface TunnelSessionOptions extends Omit<SessionOptions, 'role'> {
  /** 'dialer' for the side that connected (odd stream ids), 'acceptor' for the side that accepted. */
  role: SessionRole;
  /** Ping this often, and close the link when a ping goes unanswered that long; 0 disables. Default 30 s (yamux). */
  keepaliveIntervalMs?: number;
  /** Credit mode of every stream (see CreditMode); default 'read'. */
  credit?: CreditMode;
  /**
   * Acknowledge streams the peer opens at once (default true). With false, the 'stream' listener
   * calls stream.accept() when ready (e.g. once its onward connection is up) or destroys it to refuse.
   */
  autoAccept?: boolean;
  /**
   * The peer must answer the session's first ping within this long or the link is closed with a
   * HandshakeTimeoutError: a peer that connects and says nothing (or does not speak yamux) holds
   * a socket no longer than this. 0 (the library default) leaves it to the keepalive.
   */
  handshakeTimeoutMs?: number;
  /**
   * How long a link the session ended because of an error (a protocol error, a flood, the peer's
   * go away with an error code) may take to flush its go away before it is destroyed. Its streams
   * are already gone, so there is nothing else to save; a peer that does not read gets no longer.
   * Default 500 ms.
   */
  errorLingerMs?: number;
  /** Clock in milliseconds; default performance.now. */
  now?: () => number;
  /**
   * The `onread` hook the link socket was created with (see link-reads.ts): reads land in pooled
   * buffers instead of 'data' events. Payload views then stay pinned until a CreditReader releases
   * them, so use it with 'manual' credit and sidecar-style consumers.
   */
  reads?: LinkReads;
}

/** Defaults of the options this layer adds (frozen, like every exported defaults object). */
export const TUNNEL_SESSION_DEFAULTS = Object.freeze({
  keepaliveIntervalMs: 30_000, // yamux KeepAliveInterval
  closeLingerMs: 5_000, // how long an ending link may take to flush and close before it is destroyed
  errorLingerMs: 500, // the same after an error: only the go away is left to flush
  handshakeTimeoutMs: 0, // off in the library; tunnel-server sets 5 s
} as const);

/**
 * What the options this layer adds must be (option-checks.ts); the yamux ones are checked by the
 * Session (windowing/yamux/limits.ts). A credit mode that is neither would leave every stream
 * without credit, stalled for good.
 */
const SESSION_LAYER_CHECKS: Checks<Omit<TunnelSessionOptions, Exclude<keyof SessionOptions, 'role'>>> = {
  role: oneOf(['dialer', 'acceptor']),
  keepaliveIntervalMs: durationMs(0),
  credit: oneOf(CREDIT_MODES),
  autoAccept: bool,
  handshakeTimeoutMs: durationMs(0),
  errorLingerMs: durationMs(0),
  now: func,
  reads: object,
};

/** Counters and gauges of one session, for metrics. */
export interface TunnelSessionStats extends SessionStats {
  /** Live streams. */
  streams: number;
  /** Smoothed round-trip time, or null before the first ping came back. */
  rttMs: number | null;
  /** Bytes read from and written to the link, frames and all. */
  linkBytesRead: number;
  linkBytesWritten: number;
}

type FlushCallback = (err?: Error | null) => void;

/** Pooled read buffers the streams of one link may pin with small pieces before they are copied instead (16 link read buffers). */
export const SMALL_PIECE_PIN_BYTES = 4 * 1024 * 1024;

/**
 * Events: 'stream' (TunnelStream), 'streamAccepted' (stream id: the peer acknowledged a stream we
 * opened), 'goAway' (code), 'rtt' (rttMs, sampleMs), 'close' (Error | null).
 */
export interface TunnelSession {
  on(event: 'stream', listener: (stream: TunnelStream) => void): this;
  on(event: 'streamAccepted', listener: (streamId: number) => void): this;
  on(event: 'goAway', listener: (code: number) => void): this;
  on(event: 'rtt', listener: (rttMs: number, sampleMs: number) => void): this;
  on(event: 'close', listener: (error: Error | null) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'stream', listener: (stream: TunnelStream) => void): this;
  once(event: 'goAway', listener: (code: number) => void): this;
  once(event: 'rtt', listener: (rttMs: number, sampleMs: number) => void): this;
  once(event: 'close', listener: (error: Error | null) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** Streams over one connected duplex; see the module comment. */
export class TunnelSession extends EventEmitter implements StreamCarrier {
  /** The pure state machine this session drives. */
  readonly framing: Session;
  readonly keepaliveIntervalMs: number;
  readonly credit: CreditMode;
  /** Settles with the error that ended the session (null for a clean end) once the link is closed. */
  readonly done: Promise<Error | null>;
  private readonly autoAccept: boolean;
  private readonly now: () => number;
  private readonly reads: LinkReads | null;
  // One allowance for every stream of the link: per stream, a peer stalling many streams could pin
  // SMALL_PIECE_PIN_BYTES on each (found from outside: 150 stalled streams took 400 MiB).
  private readonly smallPieceAllowance: PinAllowance = { usedBytes: 0, limitBytes: SMALL_PIECE_PIN_BYTES };
  private readonly streams = new Map<number, TunnelStream>();
  private waiters: FlushCallback[] = [];
  // The waiters of the last batch handed to the link, until its write callback ran: a flush with
  // nothing new to write waits for that batch, which may still hold views of a writer's buffers.
  private inFlight: FlushCallback[] | null = null;
  private flushSoon = false;
  private flushLater = false;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private readonly errorLingerMs: number;
  private keepaliveOutstanding = false;
  // The second round-trip sample is taken as soon as the first is in (see the module comment).
  private secondPingDue = true;
  // One entry per ping in flight, in order: a caller waiting for its round trip, or null (keepalive).
  private readonly pings: ({ resolve: (ms: number) => void; reject: (err: Error) => void } | null)[] = [];
  private closing = false;
  private ending = false;
  private closed = false;
  private failure: Error | null = null;
  private linkBytesRead = 0;
  private linkBytesWritten = 0;
  private resolveDone!: (error: Error | null) => void;

  constructor(readonly link: Duplex, options: TunnelSessionOptions) {
    super();
    checkOptions(options, SESSION_LAYER_CHECKS, ['role']);
    const { keepaliveIntervalMs, handshakeTimeoutMs, errorLingerMs, credit, autoAccept, now, reads, ...sessionOptions } = options;
    this.framing = new Session(sessionOptions);
    this.keepaliveIntervalMs = keepaliveIntervalMs ?? TUNNEL_SESSION_DEFAULTS.keepaliveIntervalMs;
    const handshakeMs = handshakeTimeoutMs ?? TUNNEL_SESSION_DEFAULTS.handshakeTimeoutMs;
    this.errorLingerMs = errorLingerMs ?? TUNNEL_SESSION_DEFAULTS.errorLingerMs;
    this.credit = credit ?? 'read';
    this.autoAccept = autoAccept ?? true;
    this.now = now ?? (() => performance.now());
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.reads = reads ?? null;

    if (this.reads) this.reads.bind(this.onData);
    else link.on('data', this.onData);
    // A socket accepted with pauseOnConnect stays paused until told otherwise.
    link.resume();
    link.on('end', this.onEnd);
    link.on('error', this.onError);
    link.once('close', this.onClose);
    if (this.keepaliveIntervalMs > 0) {
      this.keepaliveTimer = setInterval(this.onKeepalive, this.keepaliveIntervalMs);
      this.keepaliveTimer.unref();
    }
    if (handshakeMs > 0) {
      this.handshakeTimer = setTimeout(() => this.destroy(new HandshakeTimeoutError(handshakeMs)), handshakeMs);
      this.handshakeTimer.unref();
    }
    if (link.destroyed) {
      queueMicrotask(() => this.onClose());
      return;
    }
    this.sendPing(null);
  }

  /** Which end of the link this is. */
  get role(): SessionRole {
    return this.framing.role;
  }

  /** Live streams. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Smoothed round-trip time from our pings, or null before the first reply. */
  get rttMs(): number | null {
    return this.framing.rttMs;
  }

  /** True once the link is closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** True while new streams may be opened: not closed, no go away either way, not ending. */
  get isOpen(): boolean {
    return !this.closed && !this.ending && !this.closing && !this.framing.isTerminated && !this.framing.localGoAway && !this.framing.remoteGoAway;
  }

  /** True once the peer said it is going away: open() is refused from then on. */
  get remoteGoAway(): boolean {
    return this.framing.remoteGoAway;
  }

  /** The error that ended (or is ending) the session, if any. */
  get error(): Error | null {
    return this.failure;
  }

  /** The live streams. */
  liveStreams(): IterableIterator<TunnelStream> {
    return this.streams.values();
  }

  /** A snapshot of the counters. */
  stats(): TunnelSessionStats {
    return {
      ...this.framing.stats,
      streams: this.streams.size,
      rttMs: this.framing.rttMs,
      linkBytesRead: this.linkBytesRead,
      linkBytesWritten: this.linkBytesWritten,
    };
  }

  /** Opens a stream; throws StreamOpenError (with `reason`) when the session refuses for now. */
  open(): TunnelStream {
    const stream = this.tryOpen();
    if (typeof stream === 'string') throw new StreamOpenError(stream);
    return stream;
  }

  /** Opens a stream, or says why not (see OpenRefusal); never throws. */
  tryOpen(): TunnelStream | OpenRefusal {
    if (this.closed || this.ending) return 'terminated';
    if (this.closing) return 'go-away';
    const result = this.framing.open();
    if (!result.ok) return result.reason;
    const stream = new TunnelStream(this, result.streamId, { credit: this.credit, remote: false });
    this.streams.set(result.streamId, stream);
    this.scheduleFlush();
    return stream;
  }

  /** Measures one round trip; rejects when too many pings are in flight or the link closes first. */
  ping(): Promise<number> {
    return new Promise((resolve, reject) => {
      if (!this.sendPing({ resolve, reject })) reject(new Error(this.closed ? 'the link is closed' : 'too many pings in flight'));
    });
  }

  /** Tells the peer we open no more streams and accept none; existing streams carry on. */
  goAway(): void {
    if (this.closed) return;
    this.framing.goAway();
    this.scheduleFlush();
  }

  /**
   * Graceful close: go away, let the live streams finish, then close the link. Resolves once the
   * link is closed, with the error that ended it if one did.
   */
  close(): Promise<Error | null> {
    this.goAway();
    this.closing = true;
    if (this.streams.size === 0) this.endLink();
    return this.done;
  }

  /**
   * Closes the link now. Live streams are destroyed: with a LinkLostError carrying `error` when one
   * is given, quietly (like socket.destroy()) when not.
   */
  destroy(error?: Error): void {
    if (this.closed) return;
    if (error !== undefined) {
      this.failure ??= error;
      this.destroyStreams(error.message, error);
    } else {
      for (const stream of [...this.streams.values()]) stream.destroy();
      this.streams.clear();
    }
    this.link.destroy();
  }

  // StreamCarrier: what the streams call.

  /** @internal */
  sendData(streamId: number, bytes: Buffer): SendResult {
    const result = this.framing.send(streamId, bytes);
    if (result.sentBytes > 0) this.scheduleFlush();
    return result;
  }

  /** @internal */
  sendCredit(streamId: number): number {
    return this.framing.streamInfo(streamId)?.sendCreditBytes ?? 0;
  }

  /** @internal */
  streamInfo(streamId: number): StreamInfo | undefined {
    return this.framing.streamInfo(streamId);
  }

  /** @internal */
  consumed(streamId: number, bytes: number): void {
    this.framing.consumed(streamId, bytes, this.now());
    if (this.framing.hasOutbound) this.scheduleFlush(false);
  }

  /** @internal */
  acceptStream(streamId: number): boolean {
    const info = this.framing.streamInfo(streamId);
    if (info === undefined) return false;
    if (info.phase !== StreamPhase.SynReceived) return true;
    const accepted = this.framing.accept(streamId);
    this.scheduleFlush();
    return accepted;
  }

  /** @internal */
  closeStream(streamId: number): boolean {
    const closed = this.framing.close(streamId);
    if (closed) this.scheduleFlush();
    return closed;
  }

  /** @internal */
  resetStream(streamId: number): boolean {
    const reset = this.framing.reset(streamId);
    if (reset) this.scheduleFlush();
    return reset;
  }

  /** @internal */
  afterFlush(callback: FlushCallback): void {
    if (this.closed) {
      process.nextTick(callback, new LinkLostError('the link is closed'));
      return;
    }
    this.waiters.push(callback);
    this.scheduleFlush();
  }

  /** @internal */
  forgetStream(stream: TunnelStream): void {
    if (this.streams.get(stream.streamId) === stream) this.streams.delete(stream.streamId);
    if (this.closing && this.streams.size === 0) this.endLink();
  }

  // Inbound.

  private readonly onData = (chunk: Buffer): void => {
    this.linkBytesRead += chunk.length;
    const events = this.framing.receive(chunk, this.now());
    for (let i = 0; i < events.length; i++) this.handle(events[i]!);
    if (this.framing.hasOutbound) this.scheduleFlush(false);
    if (this.framing.isTerminated) this.terminate();
  };

  private handle(event: SessionEvent): void {
    switch (event.type) {
      case 'data': {
        const stream = this.streams.get(event.streamId);
        if (stream === undefined) return;
        // A small piece of a big read buffer must not pin the whole buffer while its stream waits,
        // or a peer could make a stalled stream hold many times its window (1-byte frames
        // interleaved with other streams' data, say). A piece of at least a quarter of its buffer
        // pins at most four times itself. Smaller ones are copied, except from pooled link reads,
        // where the link's streams together may pin up to SMALL_PIECE_PIN_BYTES of buffers with them
        // first (each buffer counted once per stream, however many of its pieces the stream holds):
        // streams that keep up never pay for the copies.
        let bytes = event.bytes;
        const small = bytes.length * 4 < bytes.buffer.byteLength;
        if (this.reads !== null && isPooledRead(bytes)) {
          if (!small || stream.pinSmallPiece(bytes, this.smallPieceAllowance)) retainRead(bytes);
          else bytes = copyOf(bytes);
        } else if (small) bytes = copyOf(bytes);
        stream.onFrameData(bytes);
        return;
      }
      case 'streamOpened': {
        if (this.listenerCount('stream') === 0) {
          this.framing.reset(event.streamId);
          return;
        }
        const stream = new TunnelStream(this, event.streamId, { credit: this.credit, remote: true });
        this.streams.set(event.streamId, stream);
        if (this.autoAccept) this.framing.accept(event.streamId);
        this.emit('stream', stream);
        return;
      }
      case 'streamAccepted':
        this.streams.get(event.streamId)?.emit('accepted');
        // Once per session rather than per stream: one fewer waiting to be acknowledged (the backlog).
        this.emit('streamAccepted', event.streamId);
        return;
      case 'streamEnded':
        this.streams.get(event.streamId)?.onRemoteEnd();
        return;
      case 'streamReset':
        this.streams.get(event.streamId)?.onRemoteReset();
        return;
      case 'writable':
        this.streams.get(event.streamId)?.onWritable();
        return;
      case 'goAway':
        if (event.code !== 0) this.failure ??= new RemoteGoAwayError(event.code);
        this.emit('goAway', event.code);
        return;
      case 'rtt': {
        this.keepaliveOutstanding = false;
        this.clearHandshakeTimer();
        this.pings.shift()?.resolve(event.sampleMs);
        if (this.secondPingDue) {
          this.secondPingDue = false;
          this.sendPing(null);
        }
        this.emit('rtt', event.rttMs, event.sampleMs);
        return;
      }
      case 'error':
        this.failure ??= new TunnelProtocolError(event.error);
        return;
    }
  }

  // The session is over (protocol error, or a go away with an error code either way): flush the
  // go away if one is queued, then close the link.
  private terminate(): void {
    if (this.ending) return;
    const reason = this.failure ?? new LinkLostError('the session ended');
    this.failure ??= reason;
    this.destroyStreams(reason.message, reason);
    this.endLink(this.errorLingerMs);
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private readonly onEnd = (): void => {
    // The peer closed the whole session: nothing more will arrive for any stream.
    if (this.streams.size > 0) this.failure ??= new LinkLostError('the peer closed the link');
    this.destroyStreams('the peer closed the link');
    this.endLink();
  };

  private readonly onError = (err: Error): void => {
    this.failure ??= new LinkLostError(err.message, err);
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.keepaliveTimer = this.lingerTimer = null;
    this.clearHandshakeTimer();
    // Closed without our FIN (a reset, a destroy): a loss, even with no stream left to mourn.
    if (!this.ending) this.failure ??= new LinkLostError('the link closed');
    this.destroyStreams('the link closed');
    const lost = new LinkLostError('the link closed');
    for (const ping of this.pings.splice(0)) ping?.reject(lost);
    // The link is closed, so nothing points into a caller's buffer any more; a write callback that
    // still comes later finds its (shared) waiter list emptied here.
    const waiters = [...this.waiters, ...(this.inFlight?.splice(0) ?? [])];
    this.waiters = [];
    this.inFlight = null;
    for (const w of waiters) w(lost);
    this.link.off('data', this.onData);
    this.reads?.unbind();
    this.framing.dispose();
    this.emit('close', this.failure);
    this.resolveDone(this.failure);
  };

  private readonly onKeepalive = (): void => {
    if (this.keepaliveOutstanding) {
      this.destroy(new KeepaliveTimeoutError(this.keepaliveIntervalMs));
      return;
    }
    this.sendPing(null);
  };

  private sendPing(waiter: { resolve: (ms: number) => void; reject: (err: Error) => void } | null): boolean {
    if (this.closed || !this.framing.ping(this.now())) return false;
    this.pings.push(waiter);
    if (waiter === null) this.keepaliveOutstanding = true;
    this.scheduleFlush();
    return true;
  }

  private destroyStreams(reason: string, cause?: Error): void {
    if (this.streams.size === 0) return;
    const error = cause instanceof LinkLostError ? cause : new LinkLostError(reason, cause);
    for (const stream of [...this.streams.values()]) stream.destroy(error);
    this.streams.clear();
  }

  // Outbound.

  // Data frames (and anything a writer waits for) go out right after the callback that queued
  // them; window updates and control replies, which nobody is blocked on this very moment, wait
  // for the end of the event-loop turn, so a turn's worth of them shares one writev.
  private scheduleFlush(urgent = true): void {
    if (this.closed) return;
    if (urgent) {
      if (this.flushSoon) return;
      this.flushSoon = true;
      queueMicrotask(this.flush);
      return;
    }
    if (this.flushSoon || this.flushLater) return;
    this.flushLater = true;
    setImmediate(this.flushLazily);
  }

  private readonly flushLazily = (): void => {
    this.flushLater = false;
    if (!this.flushSoon) this.flush();
  };

  private readonly flush = (): void => {
    this.flushSoon = false;
    const waiters = this.waiters;
    this.waiters = [];
    const link = this.link;
    if (this.closed || link.destroyed || link.writableEnded) {
      this.framing.flushed(this.framing.takeOutbound());
      const lost = new LinkLostError('the link is closed');
      // An ending link may still be writing what was queued before: nobody is told before that.
      if (this.inFlight !== null && !link.destroyed) this.inFlight.push(...waiters.map((w) => () => w(lost)));
      else for (const w of waiters) w(lost);
      return;
    }
    if (!this.framing.hasOutbound) {
      // Nothing new to write, but what was written before may still sit in the link's write
      // queue (a peer slow to read): a stream whose frames were queued before it ran out of
      // credit waits here, and its writer reuses the buffer once called back. Write callbacks
      // come in order, so the last batch's callback means everything before it was written too.
      if (this.inFlight !== null) this.inFlight.push(...waiters);
      else for (const w of waiters) w();
      return;
    }
    const batch = this.framing.takeOutbound();
    this.linkBytesWritten += batch.byteLength;
    this.inFlight = waiters;
    const done = (err?: Error | null): void => {
      if (this.inFlight === waiters) this.inFlight = null;
      this.framing.flushed(batch);
      const lost = err ? new LinkLostError(err.message, err) : null;
      for (const w of waiters) w(lost);
    };
    const buffers = batch.buffers;
    const last = buffers.length - 1;
    if (last === 0) {
      link.write(buffers[0], done);
      return;
    }
    link.cork();
    for (let i = 0; i < last; i++) link.write(buffers[i]);
    link.write(buffers[last], done);
    link.uncork();
  };

  // Ends our side of the link once everything queued is written, then closes it. A peer that
  // takes longer than the linger time to read what is queued (or never reads: the go away of a
  // flood error would wait forever) is cut off, so every ending releases its socket.
  private endLink(lingerMs: number = TUNNEL_SESSION_DEFAULTS.closeLingerMs): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    this.lingerTimer = setTimeout(() => this.link.destroy(), lingerMs);
    this.lingerTimer.unref();
    this.afterFlush(() => {
      if (!this.link.destroyed) this.link.end(() => this.link.destroy());
    });
  }
}

function copyOf(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafe(bytes.length);
  bytes.copy(copy);
  return copy;
}
