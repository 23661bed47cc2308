import type { Socket } from 'node:net';
import type { DirectionWindow } from '../../windowing/index.js';
import type { DirectionPump } from './pump.js';
import { isLanding, LANDING, landingAtMost, READ_BUFFER_BYTES, sharedPool, type BufferPool } from '../reads/read-buffers.js';
import type { ReadHook, ReadSink } from '../reads/read-hook.js';

/** Reads at least this big go to write() without a copy (smaller ones are copied out exactly). */
const ZERO_COPY_MIN_BYTES = 16 * 1024;

/**
 * One direction of a relay for a socket that reads through a ReadHook (`onread`): the same
 * flow control as Pump, without per-read allocation on the bulk path.
 *
 *   kernel --read--> hook.next (LANDING or a pooled 64 KiB buffer) --onRead--> sink.write
 *                                  ^                                             |
 *                                  +---- pool <--- flushed (write callback) -----+
 *
 * A pooled buffer handed to write() stays pinned until the sink flushes it; the unused tail
 * of a pinned buffer counts against the window too, so memory stays bounded by the window
 * whatever the read sizes.
 */
export class FastPump implements DirectionPump, ReadSink {
  bytesRead = 0;
  ended = false;
  private slackBytes = 0;
  private writesIssued = 0;
  private writesFlushed = 0;
  // Pinned buffers in write order, each with the sequence number of its write.
  private readonly pinned: { buffer: Buffer; seq: number; slack: number }[] = [];

  constructor(
    private readonly source: Socket,
    private readonly hook: ReadHook,
    private readonly sink: Socket,
    readonly window: DirectionWindow,
    private readonly now: () => number,
    private readonly onResume?: (pausedMs: number) => void,
    private readonly pool: BufferPool = sharedPool,
  ) {}

  get queuedBytes(): number {
    return this.sink.writableLength + this.slackBytes;
  }

  get deliveredBytes(): number {
    return this.bytesRead - this.sink.writableLength;
  }

  start(): void {
    this.source.once('end', this.onEnd);
    if (isLanding(this.hook.next)) this.hook.next = LANDING; // a waiting client was read in small bites
    const early = this.hook.bind(this);
    for (const chunk of early) {
      this.bytesRead += chunk.length;
      this.sink.write(chunk, this.onFlushed);
      this.writesIssued++;
    }
    this.applyWindow(false);
    if (!this.window.isPaused) this.source.resume();
  }

  stop(): void {
    this.hook.unbind();
    this.source.off('end', this.onEnd);
    this.window.release();
    // A destroyed source never reads again, so its dedicated buffer can serve someone else.
    if (this.source.destroyed && !isLanding(this.hook.next)) {
      this.pool.give(this.hook.next);
      this.hook.next = LANDING;
    }
  }

  /** Called by the hook for every read; returning false stops reading (Node calls readStop). */
  onRead(bytes: number, buffer: Buffer): boolean {
    this.bytesRead += bytes;
    let chunk: Buffer;
    let pin = false;
    const landed = isLanding(buffer);
    if (landed || bytes < ZERO_COPY_MIN_BYTES) {
      chunk = Buffer.allocUnsafe(bytes);
      buffer.copy(chunk, 0, 0, bytes);
      if (!landed) {
        // Small reads on a dedicated buffer: the flow has gone light; give the buffer back.
        this.pool.give(buffer);
        this.hook.next = LANDING;
      } else if (bytes >= ZERO_COPY_MIN_BYTES) {
        // A bulk flow has started: read straight into dedicated buffers from now on.
        this.hook.next = this.pool.take();
      }
    } else {
      chunk = buffer.subarray(0, bytes);
      pin = true;
    }

    const sinkFull = !this.sink.write(chunk, this.onFlushed);
    const seq = ++this.writesIssued;
    if (this.sink.writableLength === 0) {
      // Everything so far reached the kernel synchronously: nothing is pinned any more, and
      // the buffer just written can take the next read as it is.
      this.releasePinned(seq);
    } else if (pin) {
      const slack = READ_BUFFER_BYTES - bytes;
      this.pinned.push({ buffer, seq, slack });
      this.slackBytes += slack;
      this.hook.next = this.pool.take();
    }
    const keepReading = this.applyWindow(sinkFull);
    if (this.window.budget) this.fitNextRead();
    return keepReading;
  }

  // Under a memory budget the next read may bring no more than this direction's share has room
  // for, so reads cannot overshoot the budget by a whole 64 KiB each.
  private fitNextRead(): void {
    const room = this.window.budget!.effectiveWindow(this.window.watermark.highBytes || READ_BUFFER_BYTES) - this.queuedBytes;
    if (room >= READ_BUFFER_BYTES) {
      if (isLanding(this.hook.next)) this.hook.next = LANDING; // room again: full-size reads
      return;
    }
    if (!isLanding(this.hook.next)) this.pool.give(this.hook.next);
    this.hook.next = landingAtMost(room);
  }

  // Decides pause/resume from what is queued; true means keep reading.
  private applyWindow(sinkFull: boolean): boolean {
    const action = this.window.update(this.queuedBytes, this.now(), sinkFull);
    return action !== 'pause' && !this.window.isPaused;
  }

  private releasePinned(throughSeq: number): void {
    while (this.pinned.length > 0 && this.pinned[0]!.seq <= throughSeq) {
      const entry = this.pinned.shift()!;
      this.slackBytes -= entry.slack;
      this.pool.give(entry.buffer);
    }
  }

  // One callback for every write: callbacks arrive in write order.
  private readonly onFlushed = (err?: Error | null): void => {
    this.writesFlushed++;
    this.releasePinned(this.writesFlushed);
    if (err || !this.window.isPaused) return;
    if (this.window.update(this.queuedBytes, this.now()) === 'resume') {
      this.source.resume();
      this.onResume?.(this.window.lastPauseMs);
    }
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.sink.end();
  };
}
