/** Options of a buffer pool. */
export interface BufferPoolOptions {
  /** Size of every buffer the pool hands out and takes back. */
  bufferBytes: number;
  /** Most buffers kept for reuse; the rest are left to the garbage collector. */
  maxCached: number;
  /** Buffers the pool must never keep (e.g. a shared landing buffer), however they come back. */
  refuse?: (buffer: Buffer) => boolean;
}

/**
 * A bounded free list of equal-sized buffers: tunnel link read buffers, spill arenas and spill
 * read batches reuse memory this way. It caches, it does not cap: the memory in use is bounded by
 * whoever takes buffers (windows, budgets); the pool only keeps up to `maxCached` of the ones
 * given back. (Socket reads use block-pool.ts, which the memory budget caps.)
 */
export class BufferPool {
  readonly bufferBytes: number;
  readonly maxCached: number;
  private readonly free: Buffer[] = [];
  private readonly refuse: ((buffer: Buffer) => boolean) | undefined;

  constructor(options: BufferPoolOptions) {
    if (!Number.isSafeInteger(options.bufferBytes) || options.bufferBytes < 1) throw new RangeError(`bufferBytes must be a whole number >= 1, got ${options.bufferBytes}`);
    if (!Number.isSafeInteger(options.maxCached) || options.maxCached < 0) throw new RangeError(`maxCached must be a whole number >= 0, got ${options.maxCached}`);
    this.bufferBytes = options.bufferBytes;
    this.maxCached = options.maxCached;
    this.refuse = options.refuse;
  }

  /** Buffers waiting for reuse. */
  get cached(): number {
    return this.free.length;
  }

  /** A buffer nothing points into: a cached one if any, else a new one. */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  /** Takes back a buffer nothing points into any more (one of the wrong size, or refused, is dropped). */
  give(buffer: Buffer): void {
    if (this.free.length >= this.maxCached || buffer.length !== this.bufferBytes || this.refuse?.(buffer)) return;
    this.free.push(buffer);
  }

  /** Lets every cached buffer go (memory back after a burst). */
  drain(): void {
    this.free.length = 0;
  }
}
