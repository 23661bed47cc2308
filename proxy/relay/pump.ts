import type { Duplex, Readable, Writable } from 'node:stream';
import { DirectionWindow } from '../../windowing/index.js';

/** One direction of a relay, whichever way it reads. */
export interface DirectionPump {
  /** Bytes read from the source (all of them are written to the sink). */
  readonly bytesRead: number;
  /** True once the source ended and the end was passed on to the sink. */
  readonly ended: boolean;
  readonly window: DirectionWindow;
  /** Bytes held for the sink: written but not flushed (plus any buffer slack they pin). */
  readonly queuedBytes: number;
  /** Bytes the sink has flushed onward. */
  readonly deliveredBytes: number;
  start(): void;
  stop(): void;
}

/**
 * One direction of a relay: reads from `source`, writes to `sink`, and stops reading while
 * the bytes waiting for the sink are past the window (or the sink's write() said false),
 * restarting under the low watermark. The window, not the producer, bounds the memory.
 *
 *   source --'data'--> onData --write(chunk, onFlushed)--> sink
 *      ^                                                     |
 *      +------- pause() / resume() <-- DirectionWindow <-----+ writableLength
 */
export class Pump implements DirectionPump {
  /** Bytes read from the source (all of them are written to the sink). */
  bytesRead = 0;
  /** True once the source ended and the end was passed on to the sink. */
  ended = false;
  readonly window: DirectionWindow;

  constructor(
    private readonly source: Readable,
    private readonly sink: Writable,
    window: DirectionWindow,
    private readonly now: () => number,
    private readonly onResume?: (pausedMs: number) => void,
  ) {
    this.window = window;
  }

  /** Something else that may hold the source paused (a rate limit): the window then leaves it paused. */
  otherHold: (() => boolean) | null = null;

  /** Starts moving bytes; call once. */
  start(): void {
    this.source.on('data', this.onData);
    this.source.once('end', this.onEnd);
  }

  /** Stops listening to the source (used when the relay is torn down). */
  stop(): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.window.release();
  }

  /** Bytes written to the sink that it has not yet flushed. */
  get queuedBytes(): number {
    return this.sink.writableLength;
  }

  /** Bytes the sink has flushed onward. */
  get deliveredBytes(): number {
    return this.bytesRead - this.sink.writableLength;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.bytesRead += chunk.length;
    const sinkFull = !this.sink.write(chunk, this.onFlushed);
    if (this.window.update(this.sink.writableLength, this.now(), sinkFull) === 'pause') {
      this.source.pause();
    }
  };

  // One callback per direction, not a closure per chunk.
  private readonly onFlushed = (err?: Error | null): void => {
    if (err || !this.window.isPaused) return;
    if (this.window.update(this.sink.writableLength, this.now()) === 'resume') {
      if (!this.otherHold?.()) this.source.resume();
      this.onResume?.(this.window.lastPauseMs);
    }
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    // end() queues behind pending writes, so nothing read is lost on a half-close.
    this.sink.end();
  };
}

/** A duplex that may support TCP resets (net.Socket does, unix sockets and in-memory pairs don't). */
export function resetOrDestroy(stream: Duplex): void {
  const resettable = stream as Duplex & { resetAndDestroy?: () => unknown };
  if (typeof resettable.resetAndDestroy === 'function') {
    try {
      resettable.resetAndDestroy();
      return;
    } catch {
      // Not a TCP handle (unix socket): a plain close is the closest we can signal.
    }
  }
  stream.destroy();
}
