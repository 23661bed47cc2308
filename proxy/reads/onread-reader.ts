import type { Socket } from 'node:net';
import { sharedBlocks, type BlockPool } from '../memory/block-pool.js';
import type { Lender, ReadTarget, SourceReader } from '../pipeline/index.js';
import { isLanding, LANDING, lightViewFor } from './read-buffers.js';
import type { ReadHook, ReadSink } from './read-hook.js';
import { endError } from '../net/reset-probe.js';

/**
 * Reads a socket created with a ReadHook (`onread`) into blocks of a BlockPool, lending what it
 * reads to the pipeline without copying and without allocating per read:
 *
 *   kernel --read--> block tail (bulk)  or  light view of LANDING (idle, light) --copy--> block
 *                       |                                                                   |
 *                       +--> target.deliver(view of the block) ------------ lent -----------+
 *                              each view holds its block until the sink flushed it (giveBack)
 *
 * A light flow (small reads) reads into a small view of the shared LANDING buffer, whose bytes
 * are copied at once into a block: the pool's shared landed block, which many connections fill
 * one after the other, so a thousand idle connections hold no block at all. A read that fills
 * that view means bulk: the reader takes a block of its own and reads into its unused tail, one
 * read after the other, each read lent as a view; a block whose views all flushed is read over
 * from the start again.
 *
 * When no block can be had (the budget is full), the reader queues for one (first come, first
 * served) and, while bytes it lent still wait for the sink, holds its direction's source through
 * the Valve ('memory'): it reads nothing until the pool hands it a block. A flow with nothing
 * waiting may still read lightly meanwhile (one small read at a time, copied into the shared
 * landed block, past the budget if need be: a read cannot be undone); that is what keeps one
 * connection's reply moving while other connections fill the budget, and it is bounded by one
 * small read per direction.
 *
 * Node asks for the buffer of the next read when a read returns, so the reader keeps holding the
 * block its next read is set to land in until a read moves it elsewhere or the socket closes: a
 * block is never freed while the kernel may still write into it.
 */
export class OnreadReader implements SourceReader, ReadSink, Lender {
  /** Lent bytes are charged to the budget by the pool, block by block. */
  readonly chargesBudget: boolean;
  private target: ReadTarget | null = null;
  // The block the next read is set to land in (the reader holds it once), and where in it; -1: the light view.
  private block = -1;
  private offset = 0;
  // Chunks lent and not given back yet.
  private lentChunks = 0;
  // Queued for a block (the cancel function), and holding the source until one comes.
  private cancelWait: (() => void) | null = null;
  // Holding the source ('memory'; the reader itself is the holder).
  private holding = false;
  private awaiting = false;
  private stopped = false;
  // Where light reads land: a small view of LANDING (smaller for small blocks).
  private readonly lightView: Buffer;

  constructor(
    private readonly socket: Socket,
    private readonly hook: ReadHook,
    private readonly pool: BlockPool = sharedBlocks,
  ) {
    this.chargesBudget = pool.budgeted;
    this.lightView = lightViewFor(pool.blockBytes);
  }

  start(target: ReadTarget): void {
    this.stopAwaiting();
    this.target = target;
    // A client that half-closed while it waited for a slot emitted its 'end' before anyone listened.
    // 'end' comes once: `on` spares the wrapper `once` allocates (per side, per connection).
    if (this.socket.readableEnded) queueMicrotask(this.onEnd);
    else this.socket.on('end', this.onEnd);
    if (isLanding(this.hook.next)) this.hook.next = this.lightView; // a waiting client was read in small bites
    for (const chunk of this.hook.bind(this)) target.deliver(chunk, null);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.hook.unbind();
    this.socket.off('end', this.onEnd);
    this.cancelWait?.();
    this.cancelWait = null;
    this.holding = false;
    this.target = null;
    // The kernel may still read into the block until the socket is gone: let it go then (a
    // listener only now, and only when it is needed: sockets are mostly gone by the time).
    if (this.socket.destroyed) this.letGoOfBlock();
    else if (this.block >= 0) this.socket.once('close', () => this.letGoOfBlock());
  }

  awaitFirstBytes(onFirstBytes: () => void): void {
    this.awaiting = true;
    this.hook.next = this.lightView;
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
    if (isLanding(buffer)) this.landed(target, bytes, buffer);
    else this.lendRead(target, bytes);
    if (!this.stopped) this.chooseNext(bytes, buffer.length);
    return true;
  }

  giveBack(chunk: Buffer): void {
    this.lentChunks--;
    this.pool.release(this.pool.blockOf(chunk));
    // Nothing of this flow waits for the sink any more: it may read lightly again while it queues.
    if (this.lentChunks === 0 && this.holding) this.letSourceGo();
  }

  forsake(chunk: Buffer): void {
    this.lentChunks--;
    this.pool.forsake(this.pool.blockOf(chunk));
  }

  slackOf(): number {
    return 0; // the pool charges whole blocks; the window counts bytes
  }

  // Bytes that landed in the shared LANDING buffer: copied out at once, a block at most at a time.
  private landed(target: ReadTarget, bytes: number, buffer: Buffer): void {
    if (!target.takesLeases) {
      // The first stage keeps what it is given (message framing): an exact copy of its own.
      const copy = Buffer.allocUnsafe(bytes);
      buffer.copy(copy, 0, 0, bytes);
      target.deliver(copy, null);
      return;
    }
    const blockBytes = this.pool.blockBytes;
    const filled = bytes >= buffer.length;
    for (let from = 0; from < bytes && !this.stopped; ) {
      const n = Math.min(bytes - from, blockBytes);
      if (this.block >= 0 && blockBytes - this.offset < n) this.letGoOfBlock();
      if (this.block < 0 && filled && n >= this.lightView.length && !this.cancelWait) {
        // The read filled its view: a bulk flow starts, in a block of its own (if there is one).
        this.block = this.pool.take();
        this.offset = 0;
      }
      if (this.block >= 0) {
        buffer.copy(this.pool.view(this.block), this.offset, from, from + n);
        this.lendRead(target, n);
      } else {
        const chunk = this.pool.copyLanded(buffer, from, n);
        if (!chunk) {
          // Even the overdraft is used up: an allocation (counted by the pool), and no more reads until a block comes.
          const copy = Buffer.allocUnsafe(bytes - from);
          buffer.copy(copy, 0, from, bytes);
          target.deliver(copy, null);
          this.queueForBlock();
          this.holdSource();
          return;
        }
        this.lentChunks++;
        target.deliver(chunk, this);
      }
      from += n;
    }
    // Memory is short and this flow has bytes waiting: no more reads until a block comes.
    if (this.block < 0 && this.lentChunks > 0 && this.pool.exhausted && !this.stopped) this.needBlock();
  }

  // Lends the `bytes` just placed at `offset` in the reader's block.
  private lendRead(target: ReadTarget, bytes: number): void {
    const block = this.block;
    const at = this.offset;
    this.offset += bytes;
    this.pool.retain(block);
    this.lentChunks++;
    target.deliver(this.pool.view(block).subarray(at, at + bytes), this);
  }

  // Where the next read lands: the block's tail, a fresh block, or (light, or no block to be had) the light view;
  // all of LANDING for a first stage that copies.
  private chooseNext(bytes: number, space: number): void {
    if (this.block >= 0 && this.pool.refsOf(this.block) === 1) {
      // Nothing of the block is waiting for the sink: read over it from the start, or, when the
      // flow has gone light (a small read that did not fill its space), let it go.
      if (bytes < this.lightView.length && bytes < space) this.letGoOfBlock();
      else this.offset = 0;
    }
    if (this.block >= 0 && this.pool.blockBytes - this.offset < this.lightView.length) {
      this.letGoOfBlock();
      const next = this.cancelWait ? -1 : this.pool.take();
      if (next >= 0) {
        this.block = next;
        this.offset = 0;
      } else this.needBlock();
    }
    if (this.block >= 0) {
      const view = this.pool.view(this.block);
      this.hook.next = this.offset === 0 ? view : view.subarray(this.offset);
    } else if (this.target?.takesLeases === false) {
      // The first stage copies what it keeps (message framing), charged byte for byte: whole reads.
      this.hook.next = LANDING;
    } else this.hook.next = this.lightView;
  }

  // Queues for a block, and stops reading meanwhile if bytes of this flow wait for the sink.
  private needBlock(): void {
    this.queueForBlock();
    if (this.lentChunks > 0) this.holdSource();
  }

  private queueForBlock(): void {
    if (this.cancelWait) return;
    // A closure only while queued: most readers never wait for a block.
    this.cancelWait = this.pool.wait((block) => this.onBlock(block));
  }

  // The pool handed over a block: the next read (set to land in the light view already) is copied into it.
  private onBlock(block: number): void {
    this.cancelWait = null;
    if (this.stopped) return this.pool.release(block);
    this.letGoOfBlock();
    this.block = block;
    this.offset = 0;
    this.letSourceGo();
  }

  private holdSource(): void {
    if (this.holding || !this.target) return;
    this.holding = true;
    this.target.valve.hold(this, 'memory');
  }

  private letSourceGo(): void {
    if (!this.holding) return;
    this.holding = false;
    this.target?.valve.release(this);
  }

  private letGoOfBlock(): void {
    if (this.block < 0) return;
    const block = this.block;
    this.block = -1;
    this.offset = 0;
    this.pool.release(block);
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
