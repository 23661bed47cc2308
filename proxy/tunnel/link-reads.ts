
/**
 * The allocation-free read path for a tunnel link (the sidecars' links over plain TCP): the link
 * socket reads (`onread`) into pooled 256 KiB buffers instead of a fresh 64 KiB buffer per read
 * (a busy link has that much waiting: a quarter of the read calls, and longer pieces per stream). Payload
 * views handed to streams keep their buffer out of the pool until they are released, so a buffer
 * is read into again only once nothing points into it:
 *
 *   kernel --read--> pooled buffer --session.receive--> payload views --retainRead()--> stream
 *                        ^                                                              |
 *                        +-- back to the pool when the last view is released <-- releaseRead()
 *                                                              (CreditReader: once flushed onward)
 *
 * A view that is never released (its stream was reset, or a library user kept it) only keeps its
 * buffer from being reused; the garbage collector frees it as usual. Releasing a view that was never
 * retained is the one mistake that would let a buffer be overwritten while in use, so only the
 * session retains and only the CreditReader releases, each exactly once per piece.
 */
import { BufferPool } from '../memory/buffer-pool.js';

/** Size of every link read buffer. */
export const LINK_READ_BUFFER_BYTES = 256 * 1024;

interface Held {
  refs: number;
  buffer: Buffer;
  pool: BufferPool;
}

// Pooled read buffers with views still out, by their memory.
const held = new WeakMap<ArrayBufferLike, Held>();

/** True when `view` points into a pooled link read buffer that still has holders (a reader counts). */
export function isPooledRead(view: Buffer): boolean {
  return held.has(view.buffer);
}

/** Counts one more holder of `view` if it points into a pooled link read buffer (a no-op otherwise). */
export function retainRead(view: Buffer): void {
  const entry = held.get(view.buffer);
  if (entry !== undefined) entry.refs++;
}

/** Drops one holder of `view`; its buffer goes back to the pool when the last one is gone. */
export function releaseRead(view: Buffer): void {
  const entry = held.get(view.buffer);
  if (entry !== undefined) release(entry);
}

/**
 * The process-wide cache of link read buffers: 16 x 256 KiB = 4 MiB at most. Buffers in use are
 * bounded by the stream windows; this only keeps a few for reuse.
 */
export const linkReadPool = new BufferPool({ bufferBytes: LINK_READ_BUFFER_BYTES, maxCached: 16 });

/**
 * Reads land at the start of a buffer again only while nothing points into it; while views are
 * out, the next read goes into the rest of the same buffer, until less than this is left.
 */
export const MIN_READ_ROOM_BYTES = 64 * 1024;

/** The `onread` hook of one link socket; see the module comment. */
export class LinkReads {
  // The buffer reads land in; this reader is one of its holders for as long as it reads into it.
  private current: Held;
  private offset = 0;
  private next: Buffer;
  private sink: ((chunk: Buffer) => void) | null = null;
  private early: Buffer[] = [];

  constructor(private readonly pool: BufferPool = linkReadPool) {
    this.current = this.hold(pool.take());
    this.next = this.current.buffer;
  }

  /** Pass this as `onread` to `net.connect` / `new net.Socket`. */
  readonly onread = {
    buffer: (): Buffer => this.next,
    callback: (bytes: number, buffer: Buffer): boolean => {
      this.onRead(bytes, buffer);
      return true;
    },
  };

  /** Routes reads to `sink` (a session's receive path) and hands it what arrived before (copied). */
  bind(sink: (chunk: Buffer) => void): void {
    this.sink = sink;
    const early = this.early;
    this.early = [];
    for (const chunk of early) sink(chunk);
  }

  /** Stops routing reads (the link closed); the reader lets go of its buffer. */
  unbind(): void {
    this.sink = null;
    release(this.current);
    this.current = this.hold(this.pool.take());
    this.offset = 0;
    this.next = this.current.buffer;
  }

  private hold(buffer: Buffer): Held {
    const entry: Held = { refs: 1, buffer, pool: this.pool };
    held.set(buffer.buffer, entry);
    return entry;
  }

  private onRead(bytes: number, buffer: Buffer): void {
    if (this.sink === null) {
      this.early.push(Buffer.from(buffer.subarray(0, bytes)));
      return;
    }
    // Views the session keeps add holders to the current buffer.
    this.sink(buffer.subarray(0, bytes));
    if (this.current.refs === 1) {
      this.offset = 0; // nothing kept a view: read from the start again
    } else {
      this.offset += bytes;
      if (LINK_READ_BUFFER_BYTES - this.offset < MIN_READ_ROOM_BYTES) {
        release(this.current);
        this.current = this.hold(this.pool.take());
        this.offset = 0;
      }
    }
    this.next = this.offset === 0 ? this.current.buffer : this.current.buffer.subarray(this.offset);
  }
}

function release(entry: Held): void {
  if (--entry.refs === 0) {
    held.delete(entry.buffer.buffer);
    entry.pool.give(entry.buffer);
  }
}
