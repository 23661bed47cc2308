import type { Writable } from 'node:stream';
import type { Downstream, Lender } from './types.js';

/** What a sink writer tells its direction. */
export interface SinkEvents {
  /** After every write; `full` when the sink's write() returned false. */
  wrote(full: boolean): void;
  /** After every write the sink flushed (its callback, in write order). */
  flushed(): void;
}

/** How a sink writer writes. */
export interface SinkWriterOptions {
  /**
   * Cork on the first write of a tick and uncork in a microtask, or once COALESCE_MAX_BYTES are
   * corked: the pieces one read carries go out in one writev.
   */
  coalesce?: boolean;
}

/**
 * Most bytes held back by coalescing before they are written anyway: enough to amortise a
 * syscall over many small pieces, small beside any window, so corked bytes never look like a
 * slow sink to a window or an overflow policy.
 */
export const COALESCE_MAX_BYTES = 16 * 1024;

/**
 * The end of a direction: writes to the sink (a socket, a tunnel stream, any writable), counts
 * what it has not flushed, and gives lent chunks back to their lender once flushed (or failed).
 * A lent chunk pins its lender's buffer; the unused tail of that buffer counts as pending too, so
 * the window bounds the memory whatever the read sizes.
 *
 *   write(chunk, lender) --sink.write(chunk, onFlushed)--> sink
 *        |                                   |
 *        +-- leased: [chunk, lender, seq] ---+--> lender.giveBack(chunk) once flushed
 *
 * One callback serves every write (callbacks arrive in write order); no closure per chunk.
 */
export class SinkWriter implements Downstream {
  /** Bytes handed to the sink. */
  writtenBytes = 0;
  /** True once end() was passed on to the sink. */
  ended = false;
  private writes = 0;
  private flushes = 0;
  private slackBytes = 0;
  private corked = false;
  private corkedBytes = 0;
  // Lent chunks in flight, in write order, with the sequence number of their write.
  private leasedChunks: Buffer[] = [];
  private leasedLenders: Lender[] = [];
  private leasedSeqs: number[] = [];
  private leasedAt = 0;

  constructor(
    private readonly sink: Writable,
    private readonly events: SinkEvents,
    private readonly options: SinkWriterOptions = {},
  ) {}

  /** Bytes written and not yet flushed, plus the slack of the buffers they pin. */
  get pendingBytes(): number {
    return this.sink.writableLength + this.slackBytes;
  }

  /** Bytes the sink has flushed onward. */
  get flushedBytes(): number {
    return this.writtenBytes - this.sink.writableLength;
  }

  write(chunk: Buffer, lender: Lender | null): void {
    this.writtenBytes += chunk.length;
    if (this.options.coalesce && !this.corked) {
      this.corked = true;
      this.sink.cork();
      queueMicrotask(this.uncork);
    }
    const full = !this.sink.write(chunk, this.onFlushed);
    if (this.corked && (this.corkedBytes += chunk.length) >= COALESCE_MAX_BYTES) this.uncork();
    const seq = ++this.writes;
    if (this.sink.writableLength === 0) {
      // Everything so far reached the kernel synchronously: nothing is pinned any more (the
      // callbacks still come, later, and find nothing left to give back).
      this.giveBackThrough(seq - 1, true);
      lender?.giveBack(chunk, true);
    } else if (lender) {
      this.leasedChunks.push(chunk);
      this.leasedLenders.push(lender);
      this.leasedSeqs.push(seq);
      this.slackBytes += lender.slackOf(chunk);
    }
    this.events.wrote(full);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    // end() queues behind pending writes, so nothing written is lost on a half-close.
    this.sink.end();
  }

  /**
   * The sink is closed for good. Chunks still lent are forgotten, not given back: a sink whose
   * write never called back (a stream destroyed with its frames still in a link) may still hold
   * them, and a buffer back in its pool would be read into again while it is sent. The garbage
   * collector frees them once nothing holds them.
   */
  abandon(): void {
    this.leasedChunks = [];
    this.leasedLenders = [];
    this.leasedSeqs = [];
    this.leasedAt = 0;
    this.slackBytes = 0;
  }

  // Cork and uncork stay paired: a microtask finding the cork already lifted does nothing.
  private readonly uncork = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.corkedBytes = 0;
    this.sink.uncork();
  };

  private readonly onFlushed = (err?: Error | null): void => {
    this.flushes++;
    this.giveBackThrough(this.flushes, !err);
    if (!err) this.events.flushed();
  };

  private giveBackThrough(seq: number, consumed: boolean): void {
    while (this.leasedAt < this.leasedSeqs.length && this.leasedSeqs[this.leasedAt]! <= seq) {
      const chunk = this.leasedChunks[this.leasedAt]!;
      const lender = this.leasedLenders[this.leasedAt]!;
      this.leasedAt++;
      this.slackBytes -= lender.slackOf(chunk);
      lender.giveBack(chunk, consumed);
    }
    if (this.leasedAt === this.leasedSeqs.length) {
      this.leasedChunks.length = this.leasedLenders.length = this.leasedSeqs.length = this.leasedAt = 0;
    } else if (this.leasedAt > 1024 && this.leasedAt * 2 > this.leasedSeqs.length) {
      this.leasedChunks = this.leasedChunks.slice(this.leasedAt);
      this.leasedLenders = this.leasedLenders.slice(this.leasedAt);
      this.leasedSeqs = this.leasedSeqs.slice(this.leasedAt);
      this.leasedAt = 0;
    }
  }
}
