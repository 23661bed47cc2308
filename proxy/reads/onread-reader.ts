import type { Socket } from 'node:net';
import type { Lender, ReadTarget, SourceReader } from '../pipeline/index.js';
import type { BufferPool } from '../memory/buffer-pool.js';
import { isLanding, LANDING, landingAtMost, MIN_READ_BYTES, READ_BUFFER_BYTES, sharedPool } from './read-buffers.js';
import type { ReadHook, ReadSink } from './read-hook.js';
import { endError } from '../net/reset-probe.js';

/** Reads at least this big are lent to the pipeline without a copy (smaller ones are copied out exactly). */
const ZERO_COPY_MIN_BYTES = 16 * 1024;

/**
 * Reads a socket created with a ReadHook (`onread`) without allocating per read on the bulk path:
 *
 *   kernel --read--> hook.next (LANDING or a pooled 64 KiB buffer) --onRead--> target.deliver
 *                                  ^                                              |
 *                                  +--- pool <--- giveBack (flushed by the sink) -+
 *
 * Small reads land in the shared LANDING buffer and are copied out exactly. Once a bulk flow
 * starts, reads go straight into a dedicated pooled buffer which is lent to the pipeline; when
 * the sink flushes it synchronously it comes straight back and takes the next read as it is,
 * otherwise it stays pinned (its unused tail counted against the window) and a fresh buffer
 * takes the next read. Under a memory budget a read may bring no more than the window has room for.
 */
export class OnreadReader implements SourceReader, ReadSink, Lender {
  private target: ReadTarget | null = null;
  // Buffers lent to the pipeline and not yet given back, in the order they were lent.
  private lent: Buffer[] = [];
  private awaiting = false;

  constructor(
    private readonly socket: Socket,
    private readonly hook: ReadHook,
    private readonly pool: BufferPool = sharedPool,
  ) {}

  start(target: ReadTarget): void {
    this.stopAwaiting();
    this.target = target;
    // A client that half-closed while it waited for a slot emitted its 'end' before anyone listened.
    if (this.socket.readableEnded) queueMicrotask(this.onEnd);
    else this.socket.once('end', this.onEnd);
    if (isLanding(this.hook.next)) this.hook.next = LANDING; // a waiting client was read in small bites
    for (const chunk of this.hook.bind(this)) target.deliver(chunk, null);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  stop(): void {
    this.hook.unbind();
    this.socket.off('end', this.onEnd);
    this.target = null;
    // A destroyed socket never reads again, so its dedicated buffer can serve someone else.
    if (this.socket.destroyed && !isLanding(this.hook.next)) {
      this.pool.give(this.hook.next);
      this.hook.next = LANDING;
    }
  }

  awaitFirstBytes(onFirstBytes: () => void): void {
    this.awaiting = true;
    this.hook.next = landingAtMost(MIN_READ_BYTES);
    this.hook.onEarly = onFirstBytes;
    this.socket.resume();
  }

  stopAwaiting(): void {
    if (!this.awaiting) return;
    this.awaiting = false;
    this.hook.onEarly = null;
  }

  /** Called by the hook for every read; returning false stops reading. */
  onRead(bytes: number, buffer: Buffer): boolean {
    const target = this.target;
    if (!target) return false;
    const landed = isLanding(buffer);
    if (landed || bytes < ZERO_COPY_MIN_BYTES || !target.takesLeases) {
      const chunk = Buffer.allocUnsafe(bytes);
      buffer.copy(chunk, 0, 0, bytes);
      if (!landed && bytes < ZERO_COPY_MIN_BYTES) {
        // Small reads on a dedicated buffer: the flow has gone light; give the buffer back.
        this.pool.give(buffer);
        this.hook.next = LANDING;
      } else if (landed && bytes >= ZERO_COPY_MIN_BYTES && target.takesLeases) {
        // A bulk flow has started: read straight into dedicated buffers from now on.
        this.hook.next = this.pool.take();
      }
      target.deliver(chunk, null);
    } else {
      this.lent.push(buffer);
      target.deliver(buffer.subarray(0, bytes), this);
      // Still lent after the write: pinned until flushed, so the next read needs another buffer
      // (the buffer the next read lands in is never a lent one).
      if (this.lent[this.lent.length - 1] === buffer) this.hook.next = this.pool.take();
    }
    if (this.target?.budgeted) this.fitNextRead(this.target);
    return true;
  }

  giveBack(chunk: Buffer): void {
    const i = this.lent.findIndex((b) => b.buffer === chunk.buffer);
    if (i === -1) return;
    const [buffer] = this.lent.splice(i, 1);
    // The buffer the next read lands in stays with the hook; any other goes back to the pool.
    if (buffer !== this.hook.next) this.pool.give(buffer!);
  }

  slackOf(chunk: Buffer): number {
    return READ_BUFFER_BYTES - chunk.length;
  }

  // Under a memory budget the next read may bring no more than this direction has room for,
  // so reads cannot overshoot the budget by a whole 64 KiB each.
  private fitNextRead(target: ReadTarget): void {
    const room = target.roomBytes(READ_BUFFER_BYTES);
    if (room >= READ_BUFFER_BYTES) {
      if (isLanding(this.hook.next)) this.hook.next = LANDING; // room again: full-size reads
      return;
    }
    if (!isLanding(this.hook.next)) this.pool.give(this.hook.next);
    this.hook.next = landingAtMost(room);
  }

  private readonly onEnd = (): void => {
    // A reset that arrived behind unread data is reported by libuv as an end (see reset-probe.ts):
    // passed on as a FIN it would make a cut-short transfer look complete.
    const reset = endError(this.socket);
    if (reset) {
      this.socket.destroy(reset);
      return;
    }
    this.target?.end();
  };
}
