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

/** Lent chunks in flight, in write order, with the sequence number of their write; `at`: the first not given back. */
interface Leases {
  chunks: Buffer[];
  lenders: Lender[];
  seqs: number[];
  at: number;
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
  /** Bytes of lent chunks in flight whose lender charges the budget itself (chargesBudget). */
  lenderChargedBytes = 0;
  private writes = 0;
  private flushes = 0;
  private slackBytes = 0;
  private readonly coalesce: boolean;
  private corked = false;
  private corkedBytes = 0;
  // Made on the first lent chunk, and the callbacks on the first write: an idle connection's
  // writers never write.
  private leased: Leases | null = null;
  private onFlushed: ((err?: Error | null) => void) | null = null;
  private uncork: (() => void) | null = null;

  constructor(
    private readonly sink: Writable,
    private readonly events: SinkEvents,
    options?: SinkWriterOptions,
  ) {
    this.coalesce = options?.coalesce === true;
  }

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
    if (this.coalesce && !this.corked) {
      this.corked = true;
      this.sink.cork();
      queueMicrotask((this.uncork ??= () => this.uncorkNow()));
    }
    const full = !this.sink.write(chunk, (this.onFlushed ??= (err) => this.flushedOne(err)));
    if (this.corked && (this.corkedBytes += chunk.length) >= COALESCE_MAX_BYTES) this.uncorkNow();
    const seq = ++this.writes;
    if (this.sink.writableLength === 0) {
      // Everything so far reached the kernel synchronously: nothing is pinned any more (the
      // callbacks still come, later, and find nothing left to give back).
      this.giveBackThrough(seq - 1, true);
      lender?.giveBack(chunk, true);
    } else if (lender) {
      const leased = (this.leased ??= { chunks: [], lenders: [], seqs: [], at: 0 });
      leased.chunks.push(chunk);
      leased.lenders.push(lender);
      leased.seqs.push(seq);
      this.slackBytes += lender.slackOf(chunk);
      if (lender.chargesBudget) this.lenderChargedBytes += chunk.length;
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
   * The sink is closed for good. Chunks still lent are not given back: a sink whose write never
   * called back (a stream destroyed with its frames still in a link) may still hold them, and a
   * buffer back in its pool would be read into again while it is sent. Their lender is told to
   * forsake them (a block pool then stops counting that memory and never reuses it), or they are
   * forgotten; the garbage collector frees them once nothing holds them.
   */
  abandon(): void {
    const leased = this.leased;
    if (leased) for (let i = leased.at; i < leased.seqs.length; i++) leased.lenders[i]!.forsake?.(leased.chunks[i]!);
    this.lenderChargedBytes = 0;
    this.leased = null;
    this.slackBytes = 0;
  }

  // Cork and uncork stay paired: a microtask finding the cork already lifted does nothing.
  private uncorkNow(): void {
    if (!this.corked) return;
    this.corked = false;
    this.corkedBytes = 0;
    this.sink.uncork();
  }

  private flushedOne(err?: Error | null): void {
    this.flushes++;
    this.giveBackThrough(this.flushes, !err);
    if (!err) this.events.flushed();
  }

  private giveBackThrough(seq: number, consumed: boolean): void {
    const leased = this.leased;
    if (leased === null) return;
    while (leased.at < leased.seqs.length && leased.seqs[leased.at]! <= seq) {
      const chunk = leased.chunks[leased.at]!;
      const lender = leased.lenders[leased.at]!;
      leased.at++;
      this.slackBytes -= lender.slackOf(chunk);
      if (lender.chargesBudget) this.lenderChargedBytes -= chunk.length;
      lender.giveBack(chunk, consumed);
    }
    if (leased.at === leased.seqs.length) {
      leased.chunks.length = leased.lenders.length = leased.seqs.length = leased.at = 0;
    } else if (leased.at > 1024 && leased.at * 2 > leased.seqs.length) {
      leased.chunks = leased.chunks.slice(leased.at);
      leased.lenders = leased.lenders.slice(leased.at);
      leased.seqs = leased.seqs.slice(leased.at);
      leased.at = 0;
    }
  }
}
