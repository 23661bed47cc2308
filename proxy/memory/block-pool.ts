import { BlockLedger } from '../../windowing/block-ledger.js';
import type { MemoryBudget } from '../../windowing/memory-budget.js';
import { BlockMemory, RESIZABLE } from './block-memory.js';

/**
 * Where every byte read from a socket lands (the `onread` path): equal blocks whose number a
 * memory budget caps. Each block in use is charged to the budget (so the budget counts the
 * memory, not the bytes that happen to be in it); when none can be had, a reader stops reading
 * and waits, first come first served, for one to come back. A block is held by the reader
 * filling it and by each chunk lent from it until the sink flushed that chunk; the last holder
 * frees it. The first blocks (keptBytes) are kept and handed out first; any other block free for
 * 2 s gives its memory back to the kernel (see block-memory.ts), and once a burst is over (those
 * other blocks fell to a quarter of their peak) `afterBurst` runs (a full, compacting GC:
 * full-gc.ts).
 *
 *   reader --take--> [block: read, read, read ...] --views lent--> sink --flushed--> release
 *      ^ none: wait (FIFO)        |                                                   |
 *      +------- serve <-----------+------------------ last holder gone: free <--------+
 *
 * Bytes that landed in the shared landing buffer (an idle connection's small read) are copied
 * into one shared block, one after the other (copyLanded), past the budget if need be: a read
 * cannot be undone. That overdraft is bounded (maxBlocks); past it the copy is an allocation,
 * counted.
 *
 * Debugging: SLUICE_POISON_BLOCKS=1 fills every block with 0xDB when it is freed and checks,
 * when it is handed out again, that nothing wrote to it meanwhile (a use after free throws).
 * A block reused while still referenced then shows up as 0xDB bytes in the data.
 */

/** Size of a block with an ample budget: what Node itself reads per call. */
export const BLOCK_BYTES = 64 * 1024;

/** Smallest block (tiny budgets). */
export const MIN_BLOCK_BYTES = 4 * 1024;

/** Block memory kept for good by default (steady traffic runs on it): 4 MiB. */
export const KEPT_BYTES = 4 * 1024 * 1024;

/** The byte a freed block is filled with in poison mode. */
export const POISON_BYTE = 0xdb;

/** Block size for a budget: 64 KiB, smaller (by powers of two, to 4 KiB) when the budget holds fewer than 32 of them. */
export function blockBytesFor(budgetBytes: number | undefined): number {
  if (budgetBytes === undefined) return BLOCK_BYTES;
  let bytes = BLOCK_BYTES;
  while (bytes > MIN_BLOCK_BYTES && bytes * 32 > budgetBytes) bytes /= 2;
  return bytes;
}

/** Options for a block pool. */
export interface BlockPoolOptions {
  /** Charged per block in use; take() finds none when it is full. Without one the pool is unbounded. */
  budget?: MemoryBudget;
  /** Default: blockBytesFor(the budget). */
  blockBytes?: number;
  /** Blocks landed bytes may take past the budget; default 1/32 of it (at least 2 blocks). */
  overdraftBytes?: number;
  /** A free block gives its memory back after this long (default 2000 ms). */
  idleMs?: number;
  /** How often idle blocks are looked for (default 500 ms). */
  tickMs?: number;
  /** Called once a burst is over: the memory held fell to a quarter of its peak, by at least burstBytes. */
  afterBurst?: () => void;
  /** Default: an eighth of the budget (8 MiB without one). */
  burstBytes?: number;
  /**
   * Blocks kept for good (plain memory, used first; see block-memory.ts): default 4 MiB, at most an
   * eighth of the budget. What stays after a burst.
   */
  keptBytes?: number;
  /** Poison freed blocks (default: env SLUICE_POISON_BLOCKS=1). */
  poison?: boolean;
  now?: () => number;
}

/** See the module comment. */
export class BlockPool {
  readonly blockBytes: number;
  readonly ledger: BlockLedger;
  /** True when blocks are charged to a budget (a direction then leaves lent bytes out of its own charge). */
  readonly budgeted: boolean;
  readonly poison: boolean;
  /** Landed copies that found no block even past the budget and were allocated instead. */
  fallbacks = 0;
  /** Times afterBurst ran. */
  bursts = 0;
  private readonly memory: BlockMemory;
  private readonly now: () => number;
  private readonly tickMs: number;
  private readonly afterBurst: (() => void) | undefined;
  private readonly burstBlocks: number;
  private readonly poisoned: Buffer | null;
  // Blocks a closed sink may still be sending from: once free, their memory is forgotten, never reused.
  private readonly forsaken = new Set<number>();
  private landedBlock = -1;
  private landedAt = 0;
  private peakCommitted = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: BlockPoolOptions = {}) {
    const budget = options.budget;
    const blockBytes = options.blockBytes ?? blockBytesFor(budget?.budgetBytes);
    const overdraftBlocks = budget ? Math.max(2, Math.ceil((options.overdraftBytes ?? budget.budgetBytes / 32) / blockBytes)) : 0;
    this.blockBytes = blockBytes;
    this.budgeted = budget !== undefined;
    const keptBlocks = Math.floor((options.keptBytes ?? Math.min(KEPT_BYTES, budget ? budget.budgetBytes / 8 : KEPT_BYTES)) / blockBytes);
    this.ledger = new BlockLedger({
      blockBytes,
      ...(budget ? { budget, maxBlocks: Math.floor(budget.budgetBytes / blockBytes) + overdraftBlocks } : {}),
      idleMs: options.idleMs ?? 2000,
      keptBlocks,
    });
    this.memory = new BlockMemory(blockBytes, RESIZABLE, keptBlocks);
    this.now = options.now ?? (() => performance.now());
    this.tickMs = options.tickMs ?? 500;
    this.afterBurst = options.afterBurst;
    this.burstBlocks = Math.ceil((options.burstBytes ?? (budget ? budget.budgetBytes / 8 : 8 * 1024 * 1024)) / blockBytes);
    this.poison = options.poison ?? process.env.SLUICE_POISON_BLOCKS === '1';
    this.poisoned = this.poison ? Buffer.alloc(blockBytes, POISON_BYTE) : null;
  }

  /** Bytes of block memory there now (resident once written). */
  get committedBytes(): number {
    return this.memory.committedBytes;
  }

  /** Bytes of blocks in use (held by readers and unflushed chunks). */
  get inUseBytes(): number {
    return this.ledger.inUse * this.blockBytes;
  }

  /** Readers waiting for a block. */
  get waiting(): number {
    return this.ledger.waiting;
  }

  /** True when a newcomer would find no block now (see BlockLedger.exhausted). */
  get exhausted(): boolean {
    return this.ledger.exhausted;
  }

  /** A block for the caller to fill (one holder), or -1 when there is none now: then wait(). */
  take(): number {
    return this.handOut(this.ledger.take());
  }

  /** A block for bytes already read, past the budget if need be; -1 only when even the overdraft is used up. */
  takeLanded(): number {
    return this.handOut(this.ledger.takeLanded());
  }

  /** The whole of a block in use. */
  view(block: number): Buffer {
    return this.memory.view(block);
  }

  /** The block `chunk` is a view of, or -1. */
  blockOf(chunk: Uint8Array): number {
    return this.memory.blockOf(chunk);
  }

  /** Holders of a block (0: free). */
  refsOf(block: number): number {
    return this.ledger.refsOf(block);
  }

  /** One more holder (a chunk lent from the block). */
  retain(block: number): void {
    this.ledger.retain(block);
  }

  /** One holder less; the last one frees the block, and waiters are served. */
  release(block: number): void {
    if (!this.ledger.release(block, this.now())) return;
    if (this.forsaken.delete(block)) this.memory.forget(block);
    else if (this.poisoned) this.memory.view(block).fill(POISON_BYTE);
    this.ledger.serve();
  }

  /**
   * One holder less, for a chunk a closed sink may still be sending from (SinkWriter.abandon):
   * the block's charge comes back as usual once it is free, but its memory is left untouched to
   * the garbage collector and the block number gets fresh memory when it is taken again.
   */
  forsake(block: number): void {
    this.forsaken.add(block);
    this.release(block);
  }

  /** Calls `onBlock` with a block (one holder: the waiter) once one can be had, first come first served; returns the cancel function. */
  wait(onBlock: (block: number) => void): () => void {
    const cancel = this.ledger.wait((block) => onBlock(this.handOut(block)));
    return cancel;
  }

  /** Serves waiters if the budget has room again (bytes were given back elsewhere, e.g. a connection closed). */
  wake(): void {
    this.ledger.serve();
  }

  /**
   * Copies `bytes` bytes of `source` from `from` (landed in the shared landing buffer) into the shared landed
   * block and returns that view, held once for the caller; null when no block could be had even
   * past the budget (the caller then allocates, and it is counted here).
   */
  copyLanded(source: Buffer, from: number, bytes: number): Buffer | null {
    if (bytes > this.blockBytes) throw new RangeError(`${bytes} bytes do not fit in a ${this.blockBytes}-byte block`);
    if (this.landedBlock < 0 || this.blockBytes - this.landedAt < bytes) {
      if (this.landedBlock >= 0) this.release(this.landedBlock);
      this.landedBlock = this.takeLanded();
      this.landedAt = 0;
      if (this.landedBlock < 0) {
        this.fallbacks++;
        return null;
      }
    }
    const at = this.landedAt;
    source.copy(this.memory.view(this.landedBlock), at, from, from + bytes);
    this.landedAt += bytes;
    this.ledger.retain(this.landedBlock);
    return this.memory.view(this.landedBlock).subarray(at, at + bytes);
  }

  /** Gives idle blocks' memory back, serves waiters, and runs afterBurst once a burst is over; runs on a timer. */
  tick(): void {
    const now = this.now();
    // The shared landed block, once nothing else points into it, is let go (it may then idle out).
    if (this.landedBlock >= 0 && this.ledger.refsOf(this.landedBlock) === 1) {
      const block = this.landedBlock;
      this.landedBlock = -1;
      this.release(block);
    }
    for (const block of this.ledger.idleBlocks(now)) this.memory.release(block);
    this.ledger.serve();
    // A burst is judged by the blocks that come and go, not the kept ones.
    const committed = this.memory.committedExtra;
    if (committed > this.peakCommitted) this.peakCommitted = committed;
    if (this.afterBurst && committed * 4 <= this.peakCommitted && this.peakCommitted - committed >= this.burstBlocks) {
      this.peakCommitted = committed;
      this.bursts++;
      this.afterBurst();
    }
    if (committed === 0 && this.ledger.inUse === 0) this.disarm();
  }

  /** Stops the timer (the pool may still be used; it is re-armed when blocks are taken). */
  close(): void {
    this.disarm();
  }

  // Makes sure a block just taken has its memory (and, poisoned, that nobody wrote to it while free).
  private handOut(block: number): number {
    if (block < 0) return block;
    if (!this.memory.has(block)) {
      const view = this.memory.commit(block);
      if (this.poisoned) view.fill(POISON_BYTE);
      if (this.memory.committedExtra > this.peakCommitted) this.peakCommitted = this.memory.committedExtra;
    } else if (this.poisoned && !this.memory.view(block).equals(this.poisoned)) {
      throw new Error(`block ${block} was written to while it was free (use after free)`);
    }
    this.arm();
    return block;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** The pool of readers with no budget (the tunnel sidecars' plain sockets): unbounded, bounded by their windows. */
export const sharedBlocks = new BlockPool();
