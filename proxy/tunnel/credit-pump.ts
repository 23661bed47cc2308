import type { Writable } from 'node:stream';
import type { DirectionWindow } from '../../windowing/index.js';
import type { DirectionPump } from '../relay/pump.js';
import type { TunnelStream } from './stream.js';

const EMPTY = Buffer.alloc(0);

/**
 * One direction of a tunnel sidecar: from a tunnel stream in 'manual' credit mode to the socket
 * the bytes are for. A chunk is acknowledged to the stream, which is what earns the peer new
 * credit, only once the socket has flushed it (its write callback): a slow socket therefore
 * closes the stream's window all the way back to the producer, and the memory held here is
 * bounded by that window, whatever the peer does. Nothing is paused: the window does the holding.
 *
 *   link --frames--> TunnelStream --'data'--> sink.write(chunk, onFlushed) --> socket
 *     ^                                                        |
 *     +------ window update <-- stream.acknowledge(n) <--------+
 *
 * The DirectionWindow only keeps the figures (pauses, held-back time) that the relay reports.
 */
export class CreditPump implements DirectionPump {
  /** Bytes taken from the stream (all of them are written to the sink). */
  bytesRead = 0;
  /** True once the stream ended and the end was passed on to the sink. */
  ended = false;
  private flushedBytes = 0;
  // The writes in flight, in order: write callbacks arrive in write order.
  private inFlight: Buffer[] = [];
  private inFlightAt = 0;
  private corked = false;

  constructor(
    private readonly source: TunnelStream,
    private readonly sink: Writable,
    readonly window: DirectionWindow,
    private readonly now: () => number,
  ) {}

  /** Bytes taken from the stream and not yet flushed by the sink. */
  get queuedBytes(): number {
    return this.bytesRead - this.flushedBytes;
  }

  /** Bytes the sink has flushed onward. */
  get deliveredBytes(): number {
    return this.flushedBytes;
  }

  start(): void {
    this.source.on('data', this.onData);
    this.source.once('end', this.onEnd);
  }

  stop(): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.bytesRead += chunk.length;
    this.inFlight.push(chunk);
    // The pieces one link read carries for this stream go out in one writev, not one write each.
    if (!this.corked) {
      this.corked = true;
      this.sink.cork();
      queueMicrotask(this.uncork);
    }
    this.sink.write(chunk, this.onFlushed);
    this.window.update(this.queuedBytes, this.now());
  };

  private readonly uncork = (): void => {
    this.corked = false;
    this.sink.uncork();
  };

  private readonly onFlushed = (err?: Error | null): void => {
    const chunk = this.inFlight[this.inFlightAt]!;
    this.inFlight[this.inFlightAt++] = EMPTY;
    if (this.inFlightAt > 1024 && this.inFlightAt * 2 > this.inFlight.length) {
      this.inFlight = this.inFlight.slice(this.inFlightAt);
      this.inFlightAt = 0;
    }
    const size = chunk.length;
    // The socket no longer needs the bytes: a pooled link read buffer may be read into again.
    this.source.releaseChunk(chunk);
    if (err) return;
    this.flushedBytes += size;
    if (!this.source.destroyed) this.source.acknowledge(size);
    this.window.update(this.queuedBytes, this.now());
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    // end() queues behind pending writes, so nothing received is lost on a half-close.
    this.sink.end();
  };
}
