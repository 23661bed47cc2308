import type { Stage, StageContext } from '../../pipeline/index.js';
import { MAX_TIMER_MS } from '../../../windowing/timer-limit.js';

/**
 * The shape of the toxics that hold data for a while (latency, bandwidth, slicer): pieces wait in
 * a queue, each until its due time, and go on in order; an end waits behind them. One timer for
 * the queue's head, never one per piece. Flow control instead of buffering: once the queue holds
 * `limitBytes()`, the stage holds its upstream (the producer is held, as a slow link holds it),
 * and lets go at half.
 *
 *   write(chunk) --schedule--> [piece due t1][piece due t2]...[end] --timer at head's due--> next
 *                                     held >= limit -> upstream.hold('toxic'), <= limit/2 -> release
 */
/**
 * What a piece costs beside its bytes: its Buffer view and queue slots here, a write request once
 * passed on. A stage that cuts data into pieces of a few bytes (the slicer) counts it toward its
 * limits, so it is bounded in memory, not only in payload (found from outside: average_size=1 held
 * 63 MiB for one connection's 95 KB). Latency's pieces are whole chunks and bandwidth's 100 ms
 * worth: theirs is noise beside their bytes, and they count bytes alone.
 */
export const PIECE_OVERHEAD_BYTES = 256;

export abstract class TimedQueueStage implements Stage {
  // Pieces are the stage's own (copies), so the direction hands over copies of lent chunks.
  readonly takesLeases = false;
  protected context!: StageContext;
  // A piece is a range of the chunk it came from: the view is made when it goes, so a chunk cut
  // into 65 536 pieces costs three numbers and a reference each while it waits, not a Buffer each.
  private pieces: Buffer[] = [];
  private starts: number[] = [];
  private ends: number[] = [];
  private dues: number[] = [];
  /** When the chunk each piece came from arrived (an update re-times pieces from it). */
  private arrivals: number[] = [];
  private arrivalMs = 0;
  private head = 0;
  private queuedBytes = 0;
  private endQueued = false;
  private holding = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  // Pieces passed on whose write the sink has not flushed (one drained() each), and whether due
  // pieces wait because what follows holds a window's worth.
  private releasedPieces = 0;
  private waitingForDrain = false;

  /** Bytes waiting in the queue. */
  get heldBytes(): number {
    return this.queuedBytes;
  }

  attach(context: StageContext): void {
    this.context = context;
  }

  write(chunk: Buffer): void {
    if (this.closed) return;
    this.arrivalMs = this.context.now();
    this.schedule(chunk, this.arrivalMs);
    this.holdIfFull();
  }

  /**
   * An update of the same toxic: the pieces `previous` still holds are queued here again, under
   * the new settings (each from retimeFrom()), and an end it held waits behind them.
   */
  adopt(previous: Stage): boolean {
    if (!(previous instanceof TimedQueueStage) || previous.constructor !== this.constructor || this.closed) return false;
    const { pieces, arrivals, endQueued, holding } = previous.surrender();
    const now = this.context.now();
    pieces.forEach((piece, i) => {
      this.arrivalMs = arrivals[i]!;
      this.schedule(piece, this.retimeFrom(this.arrivalMs, now));
    });
    // A producer held until the queue is down to half stays held (taken over before it is let go).
    if (holding && this.cost() > this.limitBytes() / 2) {
      this.holding = true;
      this.context.upstream.hold(this, 'toxic');
    } else this.holdIfFull();
    previous.letGo();
    if (endQueued) this.end();
    return true;
  }

  end(): void {
    if (this.closed) return;
    if (this.head === this.pieces.length) this.context.next.end();
    else this.endQueued = true;
  }

  flush(): void {
    this.clearTimer();
    while (this.head < this.pieces.length) this.context.next.write(this.take(), null);
    this.letGo();
    if (this.endQueued) this.context.next.end();
    this.closed = true;
  }

  close(): void {
    this.closed = true;
    this.clearTimer();
    this.waitingForDrain = false;
    this.releasedPieces = 0;
    this.pieces = [];
    this.starts = [];
    this.ends = [];
    this.dues = [];
    this.arrivals = [];
    this.head = this.queuedBytes = 0;
  }

  /** Puts `chunk` in the queue (whole or in pieces) with enqueue(), each with its due time. */
  protected abstract schedule(chunk: Buffer, nowMs: number): void;

  /** The time an adopted piece is scheduled from: now (a link starting again); latency keeps its arrival. */
  protected retimeFrom(_arrivalMs: number, nowMs: number): number {
    return nowMs;
  }

  /** Bytes the queue may hold before the upstream is held. */
  protected abstract limitBytes(): number;

  /** What each piece counts for beside its bytes (PIECE_OVERHEAD_BYTES for a stage of tiny pieces). */
  protected readonly pieceOverheadBytes: number = 0;

  /** Due time of the last piece queued (or of the last sent, when the queue is empty): pieces never overtake. */
  protected lastDueMs = Number.NEGATIVE_INFINITY;

  protected enqueue(piece: Buffer, dueMs: number): void {
    this.enqueueRange(piece, 0, piece.length, dueMs);
  }

  /** Queues `chunk[start, end)` as one piece (its view made when it goes). */
  protected enqueueRange(chunk: Buffer, start: number, end: number, dueMs: number): void {
    const due = Math.max(dueMs, this.lastDueMs);
    this.lastDueMs = due;
    this.pieces.push(chunk);
    this.starts.push(start);
    this.ends.push(end);
    this.dues.push(due);
    this.arrivals.push(this.arrivalMs);
    this.queuedBytes += end - start;
    if (!this.timer) this.arm(this.context.now());
  }

  private arm(nowMs: number): void {
    // setTimeout rounds to whole milliseconds and may fire a little early by the clock: wait at
    // least 1 ms whenever the head is not due yet, and send everything due when it fires. A head
    // due past what setTimeout keeps is waited for in steps: onTimer sends only what is due.
    const waitMs = this.dues[this.head]! - nowMs;
    this.timer = setTimeout(this.onTimer, waitMs <= 0 ? 0 : Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(waitMs))));
  }

  /** The sink flushed a write: pieces held back by what follows may go on. */
  drained(): void {
    if (this.releasedPieces > 0) this.releasedPieces--;
    if (!this.waitingForDrain || this.closed || this.downstreamCost() > this.context.windowBytes() / 2) return;
    this.waitingForDrain = false;
    if (!this.timer) this.onTimer();
  }

  // What follows this stage holds, pieces' bookkeeping included: due pieces wait here past it, so
  // a burst of due pieces (a slicer without delay) never lands in the sink's queue all at once.
  private downstreamCost(): number {
    const after = this.context.pendingAfter();
    // Nothing held after us: every piece passed on is through (a later stage may have merged
    // writes, so drained() is not always one per piece).
    if (after === 0) this.releasedPieces = 0;
    return after + this.releasedPieces * this.pieceOverheadBytes;
  }

  // What the queue costs: its bytes and each piece's bookkeeping.
  private cost(): number {
    return this.queuedBytes + (this.pieces.length - this.head) * this.pieceOverheadBytes;
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    const now = this.context.now();
    const window = this.context.windowBytes();
    while (this.head < this.pieces.length && this.dues[this.head]! <= now) {
      if (this.downstreamCost() >= window) {
        this.waitingForDrain = true;
        break;
      }
      this.releasedPieces++;
      this.context.next.write(this.take(), null);
    }
    if (this.holding && this.cost() <= this.limitBytes() / 2) this.letGo();
    if (this.waitingForDrain) return;
    if (this.head < this.pieces.length) return this.arm(now);
    if (this.endQueued) {
      this.endQueued = false;
      this.context.next.end();
    }
  };

  private take(): Buffer {
    const piece = this.pieceAt(this.head);
    this.head++;
    this.queuedBytes -= piece.length;
    if (this.head === this.pieces.length) {
      this.pieces = [];
      this.starts = [];
      this.ends = [];
      this.dues = [];
      this.arrivals = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.pieces.length) {
      this.pieces = this.pieces.slice(this.head);
      this.starts = this.starts.slice(this.head);
      this.ends = this.ends.slice(this.head);
      this.dues = this.dues.slice(this.head);
      this.arrivals = this.arrivals.slice(this.head);
      this.head = 0;
    }
    return piece;
  }

  private pieceAt(i: number): Buffer {
    const chunk = this.pieces[i]!;
    const start = this.starts[i]!;
    const end = this.ends[i]!;
    return start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end);
  }

  // Gives up what is queued to the stage that replaces this one: no timer, nothing sent (its hold
  // is let go by the adopter, once it has taken it over).
  private surrender(): { pieces: Buffer[]; arrivals: number[]; endQueued: boolean; holding: boolean } {
    const pieces: Buffer[] = [];
    for (let i = this.head; i < this.pieces.length; i++) pieces.push(this.pieceAt(i));
    const handed = { pieces, arrivals: this.arrivals.slice(this.head), endQueued: this.endQueued, holding: this.holding };
    this.close();
    this.endQueued = false;
    return handed;
  }

  private holdIfFull(): void {
    if (!this.holding && this.cost() >= this.limitBytes()) {
      this.holding = true;
      this.context.upstream.hold(this, 'toxic');
    }
  }

  private letGo(): void {
    if (!this.holding) return;
    this.holding = false;
    this.context.upstream.release(this);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
