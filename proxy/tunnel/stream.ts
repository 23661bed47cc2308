/**
 * One stream of a tunnel session as an ordinary Node duplex, with the peer's window as its
 * backpressure:
 *
 *   write(chunk) --_write--> carrier.send (as much as the peer's credit allows)
 *                               | credit spent: hold the callback until the 'writable' event
 *                               v
 *                     frames queued --link flush--> callback (the chunk is no longer referenced)
 *
 *   link 'data' frames --onFrameData--> push() --> reader
 *                                          credit mode 'read':   granted as the reader takes bytes
 *                                          credit mode 'manual': granted by acknowledge(n) only
 *
 * write() returns false exactly when the bytes waiting in the stream reach the peer's remaining
 * credit, so a writer that honours it holds at most one window of data here. end() sends FIN
 * (half-close) once every write is framed; destroy() before both directions finished sends RST.
 * A peer reset destroys the stream with a StreamResetError (code ECONNRESET).
 */
import { Duplex } from 'node:stream';
import type { SendResult } from '../../windowing/yamux/session.js';
import type { StreamInfo } from '../../windowing/yamux/stream.js';
import { isPooledRead, releaseRead } from './link-reads.js';
import { StreamResetError } from './errors.js';


/** Link read buffers the small pieces of a session's streams may pin together (SMALL_PIECE_PIN_BYTES). */
export interface PinAllowance {
  usedBytes: number;
  readonly limitBytes: number;
}

/**
 * When the peer gets credit back for bytes it sent: 'read' as soon as the reader takes them from
 * the stream (a generic duplex); 'manual' only when the owner calls acknowledge(n), e.g. once the
 * bytes were written onward and flushed (the sidecars).
 */
export type CreditMode = (typeof CREDIT_MODES)[number];

/** Every credit mode there is. */
export const CREDIT_MODES = ['read', 'manual'] as const;

/** What a TunnelStream needs from the session that carries it. */
export interface StreamCarrier {
  /** Frames as much as the peer's window allows. */
  sendData(streamId: number, bytes: Buffer): SendResult;
  /** Credit the peer has granted and we have not used. */
  sendCredit(streamId: number): number;
  /** The stream's state in the session (windows, buffered bytes); undefined once it is forgotten. */
  streamInfo(streamId: number): StreamInfo | undefined;
  /** Reports bytes the consumer took; earns the peer credit. */
  consumed(streamId: number, bytes: number): void;
  /** Acknowledges a stream the peer opened. */
  acceptStream(streamId: number): boolean;
  /** Half-closes our side (FIN). */
  closeStream(streamId: number): boolean;
  /** Resets the stream (RST). */
  resetStream(streamId: number): boolean;
  /** Calls back once everything queued so far was written to the link (or the link failed). */
  afterFlush(callback: (err?: Error | null) => void): void;
  /** The stream is closed: forget it. */
  forgetStream(stream: TunnelStream): void;
}

/** Options for one stream. */
export interface TunnelStreamOptions {
  credit?: CreditMode;
  /** True for a stream the peer opened. */
  remote?: boolean;
}

type WriteCallback = (err?: Error | null) => void;

/** A tunnel stream; create them with TunnelSession.open() or receive them in its 'stream' event. */
export class TunnelStream extends Duplex {
  /** How the peer earns credit for what it sends. */
  readonly credit: CreditMode;
  /** True when the peer opened the stream. */
  readonly remote: boolean;
  /** Payload bytes received from the peer. */
  bytesReceived = 0;
  /** Payload bytes framed toward the peer. */
  bytesSent = 0;
  /** Capacity of the pooled link read buffers this stream's small pieces pin, each buffer once (see TunnelSession). */
  pinnedSmallBytes = 0;
  // Those buffers, with how many of its small pieces each holds; made at the first one.
  private smallPins: Map<ArrayBufferLike, number> | null = null;
  // The session's allowance they are counted in.
  private allowance: PinAllowance | null = null;
  private credited = 0;
  private acknowledged = 0;
  // The write in progress: its chunks not yet framed (null between writes: no array per idle stream), its callback, its size.
  private pending: Buffer[] | null = null;
  private pendingAt = 0;
  private pendingBytes = 0;
  private callback: WriteCallback | null = null;
  private givenBytes = 0;
  private waitingForCredit = false;
  private remoteReset = false;

  constructor(
    private readonly carrier: StreamCarrier,
    /** The stream id on the wire. */
    readonly streamId: number,
    options: TunnelStreamOptions = {},
  ) {
    // A high-water mark of 0 makes Node flag every write as needing 'drain'; write() below then
    // reports the peer's window itself, and 'drain' follows whenever everything was flushed.
    super({ allowHalfOpen: true, writableHighWaterMark: 0, decodeStrings: true });
    this.credit = options.credit ?? 'read';
    this.remote = options.remote ?? false;
  }

  /** Bytes received and not yet acknowledged, in 'manual' credit mode. */
  get unacknowledgedBytes(): number {
    return this.bytesReceived - this.acknowledged;
  }

  /** Its windows and buffered bytes now, as the session keeps them; undefined once the stream is closed. */
  windows(): StreamInfo | undefined {
    return this.carrier.streamInfo(this.streamId);
  }

  /** Acknowledges a stream the peer opened, if the session was told not to do it by itself. */
  accept(): boolean {
    return this.carrier.acceptStream(this.streamId);
  }

  /**
   * In 'manual' credit mode, reports `bytes` of what was received as taken onward: the only thing
   * that earns the peer more credit. Throws a RangeError past what was received.
   */
  acknowledge(bytes: number): void {
    if (this.credit !== 'manual') throw new RangeError(`acknowledge() is for streams in 'manual' credit mode, this one is '${this.credit}'`);
    if (!Number.isInteger(bytes) || bytes < 0 || this.acknowledged + bytes > this.bytesReceived) {
      throw new RangeError(`stream ${this.streamId}: cannot acknowledge ${bytes} bytes, ${this.unacknowledgedBytes} are unacknowledged`);
    }
    this.acknowledged += bytes;
    if (bytes > 0 && !this.destroyed) this.carrier.consumed(this.streamId, bytes);
  }

  /**
   * Counts a small piece of a pooled link read buffer against what this stream may pin with them
   * (`limitBytes` of buffers, each counted once however many pieces it holds): false when its
   * buffer is not pinned yet and would not fit (the caller copies the piece instead).
   */
  pinSmallPiece(piece: Buffer, allowance: PinAllowance): boolean {
    const buffer = piece.buffer;
    const pieces = this.smallPins?.get(buffer);
    if (pieces !== undefined) {
      this.smallPins!.set(buffer, pieces + 1);
      return true;
    }
    if (allowance.usedBytes + buffer.byteLength > allowance.limitBytes) return false;
    (this.smallPins ??= new Map()).set(buffer, 1);
    this.pinnedSmallBytes += buffer.byteLength;
    allowance.usedBytes += buffer.byteLength;
    this.allowance = allowance;
    return true;
  }

  /**
   * Gives back a chunk this stream delivered once it is no longer referenced (written onward and
   * flushed): a pooled link read buffer may then be read into again. CreditReader calls it.
   */
  releaseChunk(chunk: Buffer): void {
    if (isPooledRead(chunk) && chunk.length * 4 < chunk.buffer.byteLength) this.unpinSmallPiece(chunk.buffer);
    releaseRead(chunk);
  }

  private unpinSmallPiece(buffer: ArrayBufferLike): void {
    const pieces = this.smallPins?.get(buffer);
    if (pieces === undefined) return;
    if (pieces > 1) {
      this.smallPins!.set(buffer, pieces - 1);
      return;
    }
    this.smallPins!.delete(buffer);
    this.pinnedSmallBytes -= buffer.byteLength;
    if (this.allowance) this.allowance.usedBytes -= buffer.byteLength;
  }

  // Pieces still held when the stream goes may never be released (their writer abandoned): the
  // session's allowance gets their share back now, once.
  private returnPins(): void {
    if (this.allowance) this.allowance.usedBytes -= this.pinnedSmallBytes;
    this.pinnedSmallBytes = 0;
    this.smallPins = null;
  }

  /** True unless the bytes waiting here already use up the peer's remaining credit. */
  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    (Duplex.prototype.write as (...args: unknown[]) => boolean).call(this, chunk, encoding, callback);
    return this.hasRoom();
  }

  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    this.grantRead();
    return chunk;
  }

  /** Called by the session with payload for this stream. */
  onFrameData(bytes: Buffer): void {
    if (this.destroyed) return;
    this.bytesReceived += bytes.length;
    this.push(bytes);
    this.grantRead();
  }

  /** Called by the session when the peer half-closed (FIN). */
  onRemoteEnd(): void {
    if (!this.destroyed) this.push(null);
  }

  /** Called by the session when the peer reset the stream (RST). */
  onRemoteReset(): void {
    this.remoteReset = true;
    if (!this.destroyed) this.destroy(new StreamResetError(this.streamId));
  }

  /** Called by the session when credit came back after a send came up short. */
  onWritable(): void {
    this.waitingForCredit = false;
    if (this.callback !== null) this.sendPending();
  }

  override _read(): void {
    this.grantRead();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    this.startWrite([chunk], chunk.length, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: WriteCallback): void {
    let total = 0;
    const buffers = chunks.map(({ chunk }) => {
      total += chunk.length;
      return chunk;
    });
    this.startWrite(buffers, total, callback);
  }

  override _final(callback: WriteCallback): void {
    this.carrier.closeStream(this.streamId);
    this.carrier.afterFlush(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Both directions finished: the session has already forgotten the stream and this is a no-op.
    if (!this.remoteReset) this.carrier.resetStream(this.streamId);
    const pending = this.callback;
    this.callback = null;
    this.pending = null;
    this.carrier.forgetStream(this);
    this.returnPins();
    // Part of that write may already be framed and waiting in the link: its bytes are the writer's
    // until the link has sent them, so it hears of the failure only then.
    if (pending !== null) {
      const failure = error ?? destroyedError();
      this.carrier.afterFlush(() => pending(failure));
    }
    callback(error);
  }

  private startWrite(buffers: Buffer[], total: number, callback: WriteCallback): void {
    this.pending = buffers;
    this.pendingAt = 0;
    this.pendingBytes = total;
    this.givenBytes += total;
    this.callback = callback;
    this.sendPending();
  }

  private sendPending(): void {
    let result: SendResult | null = null;
    const pending = this.pending!;
    while (this.pendingAt < pending.length) {
      const head = pending[this.pendingAt]!;
      result = this.carrier.sendData(this.streamId, head);
      this.bytesSent += result.sentBytes;
      this.pendingBytes -= result.sentBytes;
      if (result.sentBytes < head.length) {
        pending[this.pendingAt] = head.subarray(result.sentBytes);
        this.waitingForCredit = true;
        return;
      }
      this.pendingAt++;
    }
    // Everything framed; with the credit spent, the callback waits for the 'writable' event, so
    // 'drain' comes only once the peer can take more.
    if (result !== null && !result.canSendMore) {
      this.waitingForCredit = true;
      return;
    }
    const callback = this.callback!;
    const size = this.givenBytes;
    this.callback = null;
    this.pending = null;
    this.pendingAt = 0;
    this.carrier.afterFlush((err) => {
      this.givenBytes -= size;
      callback(err);
    });
  }

  private hasRoom(): boolean {
    if (this.destroyed || this.writableEnded || this.waitingForCredit) return false;
    // Bytes Node buffered behind the write in progress, plus what that write has not framed yet.
    const waiting = this.writableLength - this.givenBytes + this.pendingBytes;
    return this.carrier.sendCredit(this.streamId) > waiting;
  }

  private grantRead(): void {
    if (this.credit !== 'read' || this.destroyed) return;
    const taken = this.bytesReceived - this.readableLength;
    if (taken > this.credited) {
      const bytes = taken - this.credited;
      this.credited = taken;
      this.carrier.consumed(this.streamId, bytes);
    }
  }
}

function destroyedError(): Error {
  return Object.assign(new Error('the stream was destroyed before the write was sent'), { code: 'ERR_STREAM_DESTROYED' });
}
