/**
 * The memory behind a block pool's blocks: each block is its own resizable ArrayBuffer (fixed
 * at blockBytes, a mapping of its own), so a free block's memory can be given back to the kernel
 * at once and wherever it lies (resize(0) drops its pages; no garbage collection and no malloc
 * in between), and taken again by resizing it back. Where resizable ArrayBuffers are missing,
 * blocks are plain ArrayBuffers and giving one back leaves it to the garbage collector.
 *
 * The first `keptBlocks` blocks are plain ArrayBuffers, kept for good: on Node 20 (V8 11.3) a
 * view of a resizable ArrayBuffer takes V8's slow paths (subarray, .buffer, its length in every
 * socket write), which cost bulk relaying about a fifth more CPU per GB; steady traffic runs on the
 * kept blocks, and only a burst's extra blocks are resizable.
 */

type Resizable = ArrayBuffer & { resize(bytes: number): void; readonly maxByteLength: number };
const ResizableArrayBuffer = ArrayBuffer as unknown as new (bytes: number, options: { maxByteLength: number }) => Resizable;

/** True when this runtime has resizable ArrayBuffers (Node 20+). */
export const RESIZABLE = typeof (ArrayBuffer.prototype as Partial<Resizable>).resize === 'function';

/** Fixed-size memory per block number: committed (usable) or given back. */
export class BlockMemory {
  private readonly buffers: (ArrayBuffer | null)[] = [];
  private readonly views: (Buffer | null)[] = [];
  private readonly numbers = new Map<ArrayBufferLike, number>();
  /** Blocks whose memory is there now. */
  committed = 0;
  /** Of those, the ones not kept (that come and go). */
  committedExtra = 0;

  constructor(
    readonly blockBytes: number,
    private readonly resizable = RESIZABLE,
    private readonly keptBlocks = 0,
  ) {}

  /** Bytes committed now (resident once written). */
  get committedBytes(): number {
    return this.committed * this.blockBytes;
  }

  /** True when block `n` has its memory now. */
  has(n: number): boolean {
    return this.views[n] != null;
  }

  /** The whole of block `n`, committing its memory first if it was given back (or never had any): fresh memory reads as zeros. */
  commit(n: number): Buffer {
    const ready = this.views[n];
    if (ready) return ready;
    let buffer = this.buffers[n] ?? null;
    const resizable = this.resizable && n >= this.keptBlocks;
    if (buffer && resizable) (buffer as Resizable).resize(this.blockBytes);
    else {
      buffer = resizable ? new ResizableArrayBuffer(this.blockBytes, { maxByteLength: this.blockBytes }) : new ArrayBuffer(this.blockBytes);
      this.buffers[n] = buffer;
      this.numbers.set(buffer, n);
    }
    const view = Buffer.from(buffer, 0, this.blockBytes);
    this.views[n] = view;
    this.committed++;
    if (n >= this.keptBlocks) this.committedExtra++;
    return view;
  }

  /** The whole of block `n` (committed). */
  view(n: number): Buffer {
    return this.views[n]!;
  }

  /** Gives block `n`'s memory back (nothing may point into it any more); a kept block keeps it. */
  release(n: number): void {
    if (!this.views[n] || n < this.keptBlocks) return;
    this.views[n] = null;
    this.committed--;
    this.committedExtra--;
    const buffer = this.buffers[n]!;
    if (this.resizable) (buffer as Resizable).resize(0);
    else {
      this.numbers.delete(buffer);
      this.buffers[n] = null;
    }
  }

  /**
   * Forgets block `n`'s memory without touching it (something outside may still be reading it):
   * the garbage collector frees it once nothing points into it, and the next commit(n) makes fresh memory.
   */
  forget(n: number): void {
    const buffer = this.buffers[n];
    if (!buffer) return;
    this.numbers.delete(buffer);
    this.buffers[n] = null;
    if (this.views[n]) {
      this.views[n] = null;
      this.committed--;
      if (n >= this.keptBlocks) this.committedExtra--;
    }
  }

  /** The block a chunk is a view of, or -1 when it is not one of these blocks. */
  blockOf(chunk: Uint8Array): number {
    return this.numbers.get(chunk.buffer) ?? -1;
  }
}
