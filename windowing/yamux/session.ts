/**
 * One side of a framed link: the stream state machine, per-stream windows and flood limits, with
 * no sockets, no timers and no clock. The caller feeds bytes in and carries decisions out:
 *
 *   socket 'data' --receive(chunk, nowMs)--> FrameDecoder --> handle frame --> SessionEvent[]
 *                                                                    |  (ACKs, pongs, refusals,
 *   caller: open / accept / send / consumed / close / reset / ping / goAway   window updates)
 *                                                                    v
 *   socket.writev <--takeOutbound()-- [header, payload, header, ...] queue --flushed(batch)--> budgets
 *
 * Peer mistakes never throw out of receive(): they become an 'error' event carrying a typed
 * SessionError, a go away is queued, and the session stops (write out the queue, then close).
 * Local mistakes (send after close, consuming bytes never delivered) throw UsageErrors at the call.
 * Operations on a stream that is already gone (the peer reset it) are quiet no-ops.
 */
import {
  FIRST_ACCEPTOR_STREAM_ID,
  FIRST_DIALER_STREAM_ID,
  Flag,
  FrameType,
  GoAwayCode,
  MAX_SKIPPED_PEER_IDS,
  SESSION_STREAM_ID,
  UINT32_MAX,
} from './constants.js';
import { ControlReplyBudget, EmptyFrameBudget, ResetBucket, WindowUpdateBudget } from './budgets.js';
import { FrameDecoder, type FramePart } from './decoder.js';
import { asBuffer, dataFrame, goAwayFrame, pingFrame, windowUpdateFrame } from './encoder.js';
import {
  ControlReplyFloodError,
  DataAfterFinError,
  DuplicateStreamError,
  EmptyFrameFloodError,
  InternalError,
  InvalidFrameFieldError,
  InvalidStreamIdError,
  ResetFloodError,
  SessionError,
  StreamIdParityError,
  StreamStateError,
  WindowUpdateFloodError,
} from './errors.js';
import { describeFrame, hasFlag, type FrameHeader } from './frame.js';
import { resolveSessionOptions, type SessionLimits, type SessionOptions, type SessionRole } from './limits.js';
import { Stream, StreamPhase, type StreamInfo } from './stream.js';
import { isSlowDrain, smoothRtt, tuneWindow } from './tuning.js';

/** Something the caller must act on, returned by receive() in wire order. */
export type SessionEvent =
  /** The peer opened a stream: connect it onward, then accept() it, or reset() to refuse. */
  | { readonly type: 'streamOpened'; readonly streamId: number }
  /** The peer acknowledged a stream we opened. */
  | { readonly type: 'streamAccepted'; readonly streamId: number }
  /**
   * Payload for a stream: a view of the chunk given to receive() (copy it if that memory is reused,
   * e.g. with an onread pool); call consumed() once it has been taken onward.
   */
  | { readonly type: 'data'; readonly streamId: number; readonly bytes: Buffer }
  /** The peer half-closed the stream (FIN): no more data will come; end() the onward side. */
  | { readonly type: 'streamEnded'; readonly streamId: number }
  /** The peer reset the stream (RST), or refused one we opened; it is gone. */
  | { readonly type: 'streamReset'; readonly streamId: number }
  /** Credit arrived for a stream whose last send came up short: send again. */
  | { readonly type: 'writable'; readonly streamId: number }
  /** The peer is going away: no new streams; with a non-zero code the session is over. */
  | { readonly type: 'goAway'; readonly code: number }
  /** A ping came back: the sample and the smoothed round-trip time. */
  | { readonly type: 'rtt'; readonly sampleMs: number; readonly rttMs: number }
  /** The peer broke the protocol or a limit (or we failed): a go away is queued; flush it and close. */
  | { readonly type: 'error'; readonly error: SessionError; readonly goAwayCode: GoAwayCode };

/** Why open() could not open a stream now. */
export type OpenRefusal = 'terminated' | 'go-away' | 'too-many-streams' | 'backlog-full' | 'ids-exhausted';

/** The outcome of open(). */
export type OpenResult = { readonly ok: true; readonly streamId: number } | { readonly ok: false; readonly reason: OpenRefusal };

/** The outcome of send(): how much was framed, and whether more would be taken now. */
export interface SendResult {
  /** Bytes taken from the front of the buffer and queued as data frames. */
  readonly sentBytes: number;
  /** False when credit is (nearly) spent: wait for a 'writable' event before sending more. */
  readonly canSendMore: boolean;
}

/** Frames taken from the outbound queue, ready for writev. */
export interface OutboundBatch {
  /** Headers and payloads in order: write them all, in this order. */
  readonly buffers: Buffer[];
  /** Sum of the buffers' lengths. */
  readonly byteLength: number;
  /** Replies the peer forced that are in this batch; hand the batch to flushed() once written. */
  readonly controlReplies: number;
}

/** Counters for metrics and tests. */
export interface SessionStats {
  /** Data payload bytes framed by send(). */
  bytesSent: number;
  /** Data payload bytes delivered in 'data' events. */
  bytesDelivered: number;
  /** Data payload bytes thrown away because their stream was gone. */
  bytesDiscarded: number;
  /** Data frames queued. */
  dataFramesSent: number;
  /** Window updates queued that granted credit (delta > 0). */
  windowUpdatesSent: number;
  /** Window updates received that granted credit (delta > 0) on a live stream. */
  windowUpdatesReceived: number;
  /** Peer streams refused with RST (go away, stream limit, backlog). */
  streamsRefused: number;
  /** Receive windows grown by auto-tuning. */
  windowsGrown: number;
  /** Receive windows auto-tuning shrank because their consumer drained them slowly (memory pressure not counted). */
  windowsShrunk: number;
}

/** The pure state machine for one side of a framed link. */
export class Session {
  /** Options with defaults filled in. */
  readonly limits: SessionLimits;
  /** Counters for metrics and tests. */
  readonly stats: SessionStats = {
    bytesSent: 0,
    bytesDelivered: 0,
    bytesDiscarded: 0,
    dataFramesSent: 0,
    windowUpdatesSent: 0,
    windowUpdatesReceived: 0,
    streamsRefused: 0,
    windowsGrown: 0,
    windowsShrunk: 0,
  };

  private readonly decoder: FrameDecoder;
  private readonly streams = new Map<number, Stream>();
  private nextLocalId: number;
  private highestPeerId = 0;
  // Peer ids below highestPeerId not opened yet, oldest first (bounded by MAX_SKIPPED_PEER_IDS).
  private readonly skippedPeerIds = new Set<number>();
  private pendingInbound = 0;
  private pendingOutbound = 0;
  private sentGoAway = false;
  private receivedGoAway = false;
  private terminated = false;
  private failure: SessionError | null = null;
  private outbound: Buffer[] = [];
  private outboundBytes = 0;
  private queuedControlReplies = 0;
  private readonly emptyFrames: EmptyFrameBudget;
  private readonly windowUpdates: WindowUpdateBudget;
  private readonly resets: ResetBucket;
  private readonly controlReplies: ControlReplyBudget;
  private readonly pings = new Map<number, number>();
  private nextPingOpaque = 1;
  private rtt: number | null = null;
  private memoryPressure = false;

  /** Creates a session; throws InvalidOptionError on a bad option. */
  constructor(options: SessionOptions) {
    this.limits = resolveSessionOptions(options);
    this.decoder = new FrameDecoder({ maxFrameBytes: this.limits.maxWindowBytes });
    this.nextLocalId = this.limits.role === 'dialer' ? FIRST_DIALER_STREAM_ID : FIRST_ACCEPTOR_STREAM_ID;
    this.emptyFrames = new EmptyFrameBudget(this.limits.maxConsecutiveEmptyFrames);
    this.windowUpdates = new WindowUpdateBudget(this.limits.windowUpdatesPerDataFrame);
    this.resets = new ResetBucket(this.limits.resetBurst, this.limits.resetsPerSecond);
    this.controlReplies = new ControlReplyBudget(this.limits.maxQueuedControlReplies);
  }

  /** Which end of the link this is. */
  get role(): SessionRole {
    return this.limits.role;
  }

  /**
   * True once the session is over (error, or a go away with a non-zero code either way): flush the
   * outbound queue, close the connection, and tear down every stream still in streamIds().
   */
  get isTerminated(): boolean {
    return this.terminated;
  }

  /** The error that ended the session, if one did. */
  get error(): SessionError | null {
    return this.failure;
  }

  /** True once we sent a go away: peer streams are refused from then on. */
  get localGoAway(): boolean {
    return this.sentGoAway;
  }

  /** True once the peer sent a go away: open() is refused from then on. */
  get remoteGoAway(): boolean {
    return this.receivedGoAway;
  }

  /** Live streams, both directions. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Smoothed round-trip time from our pings, or null before the first reply. */
  get rttMs(): number | null {
    return this.rtt;
  }

  /** True when frames wait in the outbound queue. */
  get hasOutbound(): boolean {
    return this.outbound.length > 0;
  }

  /** Bytes waiting in the outbound queue. */
  get outboundByteLength(): number {
    return this.outboundBytes;
  }

  /** A snapshot of a live stream, or undefined when it is gone. */
  streamInfo(streamId: number): StreamInfo | undefined {
    return this.streams.get(streamId)?.info();
  }

  /** Ids of the live streams. */
  streamIds(): number[] {
    return [...this.streams.keys()];
  }

  /** Feeds inbound bytes; returns what happened, in order. Never throws for anything the peer sent. */
  receive(chunk: Uint8Array, nowMs: number): SessionEvent[] {
    const events: SessionEvent[] = [];
    if (this.terminated) return events;
    try {
      this.decoder.decode(chunk, (part) => this.handlePart(part, nowMs, events));
    } catch (err) {
      this.fail(err instanceof SessionError ? err : new InternalError(err), events);
    }
    return events;
  }

  /** Opens a stream: queues a window update with SYN (and any window beyond 256 KiB). */
  open(): OpenResult {
    let reason: OpenRefusal | null = null;
    if (this.terminated) reason = 'terminated';
    else if (this.sentGoAway || this.receivedGoAway) reason = 'go-away';
    else if (this.streams.size >= this.limits.maxStreams) reason = 'too-many-streams';
    else if (this.pendingOutbound >= this.limits.acceptBacklog) reason = 'backlog-full';
    else if (this.nextLocalId > UINT32_MAX) reason = 'ids-exhausted';
    if (reason !== null) return { ok: false, reason };
    const streamId = this.nextLocalId;
    this.nextLocalId += 2;
    const stream = new Stream(streamId, true, this.limits.initialWindowBytes);
    this.streams.set(streamId, stream);
    this.pendingOutbound++;
    this.windowUpdates.streamOpened();
    this.sendWindowUpdate(stream, Flag.SYN, null);
    return { ok: true, streamId };
  }

  /**
   * Accepts a stream the peer opened: queues a window update with ACK (and any window beyond
   * 256 KiB). Returns false when the stream is already gone; throws StreamStateError when it is
   * not waiting to be accepted.
   */
  accept(streamId: number): boolean {
    const stream = this.streams.get(streamId);
    if (stream === undefined || this.terminated) return false;
    if (stream.phase !== StreamPhase.SynReceived) {
      throw new StreamStateError(streamId, stream.local ? 'opened locally, nothing to accept' : 'already accepted');
    }
    stream.phase = StreamPhase.Established;
    this.pendingInbound--;
    this.sendWindowUpdate(stream, Flag.ACK, null);
    return true;
  }

  /**
   * Frames as much of `bytes` as the peer's window allows (views, not copies), in frames of at most
   * maxSendFrameBytes, and never a piece under minSendFrameBytes for lack of credit. A stream the
   * peer opened is accepted first. A stream that is gone takes nothing. Throws StreamStateError
   * after close().
   */
  send(streamId: number, bytes: Uint8Array): SendResult {
    const stream = this.streams.get(streamId);
    if (stream === undefined || this.terminated) return { sentBytes: 0, canSendMore: false };
    if (stream.localClosed) throw new StreamStateError(streamId, 'send after close');
    if (stream.phase === StreamPhase.SynReceived) this.accept(streamId);
    const { maxSendFrameBytes, minSendFrameBytes } = this.limits;
    const sentBytes = stream.send.take(bytes.byteLength, minSendFrameBytes);
    const payload = asBuffer(bytes);
    for (let at = 0; at < sentBytes; at += maxSendFrameBytes) {
      this.queue(dataFrame(streamId, 0, payload.subarray(at, Math.min(sentBytes, at + maxSendFrameBytes))));
      this.windowUpdates.dataFrameSent();
      this.stats.dataFramesSent++;
    }
    this.stats.bytesSent += sentBytes;
    if (sentBytes > 0) stream.answered = true;
    const canSendMore = stream.send.creditBytes >= minSendFrameBytes;
    if (sentBytes < bytes.byteLength || !canSendMore) stream.blocked = true;
    return { sentBytes, canSendMore };
  }

  /**
   * Reports that the local consumer took `bytes` of a stream's delivered data onward. This is the
   * only thing that earns the peer new credit: a window update is queued once at least half the
   * window is owed, auto-tuned first (grown for a fast consumer, shrunk for one that drains it
   * slowly: see tuning.ts). Throws StreamStateError when more is consumed than delivered.
   */
  consumed(streamId: number, bytes: number, nowMs: number): void {
    const stream = this.streams.get(streamId);
    if (stream === undefined || this.terminated) return;
    stream.recv.consume(bytes);
    stream.epochConsumedBytes += bytes;
    if (stream.remoteClosed || !stream.recv.shouldGrant) return;
    if (this.limits.autoTune || this.memoryPressure) {
      const before = stream.recv.windowBytes;
      const input = {
        windowBytes: before,
        initialWindowBytes: this.limits.initialWindowBytes,
        maxWindowBytes: this.limits.maxWindowBytes,
        consumedBytes: stream.epochConsumedBytes,
        elapsedMs: nowMs - (stream.epochStartMs ?? nowMs),
        rttMs: this.rtt,
        memoryPressure: this.memoryPressure,
        slowEpochsBefore: stream.slowEpochs,
      };
      const after = tuneWindow(input);
      stream.slowEpochs = isSlowDrain(input) ? stream.slowEpochs + 1 : 0;
      const granted = this.budgeted(before, after);
      if (granted > before) this.stats.windowsGrown++;
      else if (granted < before && !this.memoryPressure) this.stats.windowsShrunk++;
      stream.recv.resize(granted);
    }
    this.sendWindowUpdate(stream, 0, nowMs);
  }

  /** Half-closes our side (FIN). Returns false when the stream is gone or already closed. */
  close(streamId: number): boolean {
    const stream = this.streams.get(streamId);
    if (stream === undefined || this.terminated || stream.localClosed) return false;
    if (stream.phase === StreamPhase.SynReceived) this.accept(streamId);
    stream.localClosed = true;
    stream.blocked = false;
    this.queue(windowUpdateFrame(streamId, Flag.FIN, 0));
    if (stream.remoteClosed) this.removeStream(stream);
    return true;
  }

  /** Resets a stream (RST), also how a peer stream is refused. Returns false when it is already gone. */
  reset(streamId: number): boolean {
    const stream = this.streams.get(streamId);
    if (stream === undefined || this.terminated) return false;
    this.queue(windowUpdateFrame(streamId, Flag.RST, 0));
    this.removeStream(stream);
    return true;
  }

  /**
   * Sends a go away. With the normal code (0) the peer may open no more streams and existing ones
   * finish; any other code ends the session: flush the queue, then close the connection.
   */
  goAway(code: number = GoAwayCode.Normal): void {
    if (!Number.isInteger(code) || code < 0 || code > UINT32_MAX) {
      throw new InvalidFrameFieldError('code', `must be a whole number in 0..${UINT32_MAX}, got ${code}`);
    }
    if (this.terminated || (code === GoAwayCode.Normal && this.sentGoAway)) return;
    this.queue(goAwayFrame(code));
    this.sentGoAway = true;
    if (code !== GoAwayCode.Normal) this.terminated = true;
  }

  /** Queues a ping to measure the round trip; false when too many are already outstanding. */
  ping(nowMs: number): boolean {
    if (this.terminated || this.pings.size >= this.limits.maxOutstandingPings) return false;
    const opaque = this.nextPingOpaque;
    this.nextPingOpaque = opaque === UINT32_MAX ? 0 : opaque + 1;
    this.pings.set(opaque, nowMs);
    this.queue(pingFrame(Flag.SYN, opaque));
    return true;
  }

  /**
   * Tells the session the process is short of memory (or no longer is). While it is, receive
   * windows shrink back to the initial size as they are next granted, and none grows.
   */
  setMemoryPressure(underPressure: boolean): void {
    this.memoryPressure = underPressure;
    if (!underPressure) return;
    for (const stream of this.streams.values()) {
      const before = stream.recv.windowBytes;
      stream.recv.resize(this.budgeted(before, Math.min(before, this.limits.initialWindowBytes)));
    }
  }

  /**
   * Forgets every stream and ends the session (the connection is gone), giving their window growth
   * back to the budget. Nothing is queued.
   */
  dispose(): void {
    for (const stream of [...this.streams.values()]) this.removeStream(stream);
    this.terminated = true;
  }

  /** Takes every queued frame, in order, as buffers for writev. */
  takeOutbound(): OutboundBatch {
    const batch: OutboundBatch = {
      buffers: this.outbound,
      byteLength: this.outboundBytes,
      controlReplies: this.queuedControlReplies,
    };
    this.outbound = [];
    this.outboundBytes = 0;
    this.queuedControlReplies = 0;
    return batch;
  }

  /** Reports a batch written to the socket (its write callback ran), releasing its control replies. */
  flushed(batch: OutboundBatch): void {
    this.controlReplies.flushed(batch.controlReplies);
  }

  private queue(buffers: Buffer[]): void {
    for (const buffer of buffers) {
      this.outbound.push(buffer);
      this.outboundBytes += buffer.length;
    }
  }

  /** The one place a stream's receive credit is granted to the peer (and SYN/ACK carry it). */
  private sendWindowUpdate(stream: Stream, flags: number, nowMs: number | null): void {
    const delta = stream.recv.grant();
    if (delta === 0 && flags === 0) return;
    this.queue(windowUpdateFrame(stream.streamId, flags, delta));
    if (delta > 0) this.stats.windowUpdatesSent++;
    if (nowMs !== null) {
      stream.epochStartMs = nowMs;
      stream.epochConsumedBytes = 0;
    }
  }

  private queueControlReply(buffers: Buffer[]): void {
    if (this.controlReplies.queue()) throw new ControlReplyFloodError(this.controlReplies.max);
    this.queue(buffers);
    this.queuedControlReplies++;
  }

  private fail(error: SessionError, events: SessionEvent[]): void {
    if (this.terminated) return;
    this.terminated = true;
    this.failure = error;
    this.sentGoAway = true;
    this.queue(goAwayFrame(error.goAwayCode));
    events.push({ type: 'error', error, goAwayCode: error.goAwayCode });
  }

  private isLocalId(streamId: number): boolean {
    return (streamId % 2 === 1) === (this.limits.role === 'dialer');
  }

  private wasOpened(streamId: number): boolean {
    return this.isLocalId(streamId) ? streamId < this.nextLocalId : streamId <= this.highestPeerId;
  }

  // Growth beyond the initial window is drawn from the shared budget (what it cannot cover is not
  // granted); a shrink gives it back. Returns the window to apply.
  private budgeted(beforeBytes: number, afterBytes: number): number {
    const budget = this.limits.windowBudget;
    if (budget === null || afterBytes === beforeBytes) return afterBytes;
    const initial = this.limits.initialWindowBytes;
    const heldBefore = Math.max(0, beforeBytes - initial);
    const heldAfter = Math.max(0, afterBytes - initial);
    if (heldAfter > heldBefore) return beforeBytes + budget.acquireUpTo(heldAfter - heldBefore);
    if (heldAfter < heldBefore) budget.release(heldBefore - heldAfter);
    return afterBytes;
  }

  private removeStream(stream: Stream): void {
    this.budgeted(stream.recv.windowBytes, this.limits.initialWindowBytes);
    this.streams.delete(stream.streamId);
    if (stream.phase === StreamPhase.SynReceived) this.pendingInbound--;
    else if (stream.phase === StreamPhase.SynSent) this.pendingOutbound--;
    stream.blocked = false;
  }

  private handlePart(part: FramePart, nowMs: number, events: SessionEvent[]): void {
    if (this.terminated) return;
    const header = part.header;
    if (part.start) this.handleHeader(header, nowMs, events);
    if (header.type !== FrameType.Data) return;
    if (part.payload.length > 0) this.handlePayload(header, part.payload, events);
    if (part.end) this.handleEndFlags(header, nowMs, events);
  }

  private handleHeader(header: FrameHeader, nowMs: number, events: SessionEvent[]): void {
    const carriesNothing =
      header.flags === 0 && header.length === 0 && (header.type === FrameType.Data || header.type === FrameType.WindowUpdate);
    if (this.emptyFrames.record(carriesNothing)) throw new EmptyFrameFloodError(this.emptyFrames.maxConsecutive);
    switch (header.type) {
      case FrameType.Ping:
        this.handlePing(header, nowMs, events);
        return;
      case FrameType.GoAway:
        this.handleGoAway(header, events);
        return;
      case FrameType.WindowUpdate:
        this.handleWindowUpdate(header, this.streamFor(header, events), events);
        this.handleEndFlags(header, nowMs, events);
        return;
      case FrameType.Data: {
        const stream = this.streamFor(header, events);
        if (header.length === 0) return;
        if (stream === undefined) return;
        if (stream.remoteClosed) throw new DataAfterFinError(header.streamId);
        stream.recv.reserve(header.length);
        if (stream.epochStartMs === null) stream.epochStartMs = nowMs;
        return;
      }
    }
  }

  /** Resolves the stream a data or window-update frame addresses, opening it on SYN; undefined means discard. */
  private streamFor(header: FrameHeader, events: SessionEvent[]): Stream | undefined {
    const streamId = header.streamId;
    if (streamId === SESSION_STREAM_ID) {
      throw new InvalidStreamIdError(streamId, `${describeFrame(header)} on the session id`);
    }
    if (hasFlag(header.flags, Flag.SYN)) this.handleSyn(streamId, events);
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (!this.wasOpened(streamId)) throw new InvalidStreamIdError(streamId, `${describeFrame(header)} for a stream never opened`);
      return undefined;
    }
    if (hasFlag(header.flags, Flag.ACK) && stream.phase === StreamPhase.SynSent) {
      stream.phase = StreamPhase.Established;
      this.pendingOutbound--;
      events.push({ type: 'streamAccepted', streamId });
    }
    return stream;
  }

  private handleSyn(streamId: number, events: SessionEvent[]): void {
    if (this.isLocalId(streamId)) throw new StreamIdParityError(streamId);
    if (this.streams.has(streamId)) throw new DuplicateStreamError(streamId);
    if (streamId > this.highestPeerId) {
      // Ids jumped over may still be opened later (SYNs need not arrive in order), once each.
      const first = this.highestPeerId === 0 ? (this.limits.role === 'dialer' ? FIRST_ACCEPTOR_STREAM_ID : FIRST_DIALER_STREAM_ID) : this.highestPeerId + 2;
      for (let id = Math.max(first, streamId - 2 * MAX_SKIPPED_PEER_IDS); id < streamId; id += 2) {
        if (this.skippedPeerIds.size >= MAX_SKIPPED_PEER_IDS) this.skippedPeerIds.delete(this.skippedPeerIds.values().next().value as number);
        this.skippedPeerIds.add(id);
      }
      this.highestPeerId = streamId;
    } else if (!this.skippedPeerIds.delete(streamId)) {
      throw new InvalidStreamIdError(streamId, `already used (or skipped too long ago): ids up to ${this.highestPeerId} were opened`);
    }
    if (this.sentGoAway || this.streams.size >= this.limits.maxStreams || this.pendingInbound >= this.limits.acceptBacklog) {
      this.queueControlReply(windowUpdateFrame(streamId, Flag.RST, 0));
      this.stats.streamsRefused++;
      return;
    }
    this.streams.set(streamId, new Stream(streamId, false, this.limits.initialWindowBytes));
    this.pendingInbound++;
    this.windowUpdates.streamOpened();
    events.push({ type: 'streamOpened', streamId });
  }

  private handleWindowUpdate(header: FrameHeader, stream: Stream | undefined, events: SessionEvent[]): void {
    if ((header.flags & (Flag.SYN | Flag.ACK | Flag.FIN | Flag.RST)) === 0 && this.windowUpdates.record()) {
      throw new WindowUpdateFloodError(this.windowUpdates.receivedCount, this.windowUpdates.allowed);
    }
    if (stream === undefined || header.length === 0) return;
    stream.send.grant(header.length);
    this.stats.windowUpdatesReceived++;
    if (stream.blocked && stream.send.creditBytes >= this.limits.minSendFrameBytes) {
      stream.blocked = false;
      events.push({ type: 'writable', streamId: stream.streamId });
    }
  }

  private handlePayload(header: FrameHeader, payload: Buffer, events: SessionEvent[]): void {
    const stream = this.streams.get(header.streamId);
    if (stream === undefined) {
      this.stats.bytesDiscarded += payload.length;
      return;
    }
    stream.recv.deliver(payload.length);
    this.stats.bytesDelivered += payload.length;
    events.push({ type: 'data', streamId: header.streamId, bytes: payload });
  }

  /** FIN and RST take effect after the frame's payload. */
  private handleEndFlags(header: FrameHeader, nowMs: number, events: SessionEvent[]): void {
    const rst = hasFlag(header.flags, Flag.RST);
    if (!rst && !hasFlag(header.flags, Flag.FIN)) return;
    // Only premature resets count: of streams the peer opened (refusing or cancelling ours is its
    // right and costs it as much as us), before we sent anything on them. Open-then-reset churn
    // (Rapid Reset) is that; a client that resets after its answer (SO_LINGER 0, as many health
    // checkers and balancers close) is not, and counting those took the link down for every stream
    // at 33 such clients a second (found from outside).
    const stream = this.streams.get(header.streamId);
    if (rst && !this.isLocalId(header.streamId) && !stream?.answered && this.resets.take(nowMs)) throw new ResetFloodError();
    if (stream === undefined) return;
    if (rst) {
      this.removeStream(stream);
      events.push({ type: 'streamReset', streamId: stream.streamId });
      return;
    }
    if (stream.remoteClosed) return;
    stream.remoteClosed = true;
    events.push({ type: 'streamEnded', streamId: stream.streamId });
    if (stream.localClosed) this.removeStream(stream);
  }

  private handlePing(header: FrameHeader, nowMs: number, events: SessionEvent[]): void {
    if (header.streamId !== SESSION_STREAM_ID) {
      throw new InvalidStreamIdError(header.streamId, 'ping on a stream (pings use the session id 0)');
    }
    if (hasFlag(header.flags, Flag.SYN)) {
      this.queueControlReply(pingFrame(Flag.ACK, header.length));
      return;
    }
    const sentMs = this.pings.get(header.length);
    if (sentMs === undefined) return;
    this.pings.delete(header.length);
    const sampleMs = Math.max(0, nowMs - sentMs);
    this.rtt = smoothRtt(this.rtt, sampleMs);
    events.push({ type: 'rtt', sampleMs, rttMs: this.rtt });
  }

  private handleGoAway(header: FrameHeader, events: SessionEvent[]): void {
    if (header.streamId !== SESSION_STREAM_ID) {
      throw new InvalidStreamIdError(header.streamId, 'go away on a stream (go away uses the session id 0)');
    }
    this.receivedGoAway = true;
    events.push({ type: 'goAway', code: header.length });
    if (header.length !== GoAwayCode.Normal) this.terminated = true;
  }
}
