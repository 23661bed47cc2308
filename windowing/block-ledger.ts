import type { MemoryBudget } from './memory-budget.js';

/**
 * The bookkeeping of a pool of equal-sized blocks that a memory budget governs (the memory itself
 * is proxy/memory/block-pool.ts's): which blocks are in use and by how many holders, what they
 * cost the budget, who waits for one, and which free ones have been idle long enough to give
 * their memory back. Pure: no memory, no timers; callers pass the clock.
 *
 *   take()        a free block (or a new one), charged blockBytes (tryAcquire); -1 when the budget
 *                 has no room or readers already wait (a newcomer queues behind them, FIFO).
 *                 While fewer than floorBlocks are in use one is granted whatever the budget says,
 *                 so the pool always moves.
 *   takeLanded()  for bytes already read that must be kept (a read cannot be undone): past the
 *                 budget if need be (an overdraft, charged with adjust), up to maxBlocks.
 *   retain/release  holders of a block (the reader filling it, each chunk lent from it); the last
 *                 release frees it and gives its charge back.
 *   wait(onBlock) FIFO; serve() hands blocks to waiters while take would succeed for them (after a
 *                 release, or after budget bytes were given back elsewhere).
 *   idleBlocks(now)  free blocks free for idleMs or more whose memory is still there: give it back.
 *
 * Free blocks are reused last-freed first (their memory is warm), so the ones at the bottom of the
 * free stack are the ones idle longest. The first keptBlocks blocks (the lowest numbers) are kept:
 * handed out before any other free block and never reported idle, so steady traffic runs on them
 * and only a burst's extra blocks come and go.
 */

/** Options for a block ledger. */
export interface BlockLedgerOptions {
  /** Size of every block. */
  blockBytes: number;
  /** Charged blockBytes per block in use; without one, blocks are only counted. */
  budget?: MemoryBudget;
  /** Most blocks in use at once, overdraft included. Default: unbounded. */
  maxBlocks?: number;
  /** While fewer blocks than this are in use, take() grants one past the budget. Default 2. */
  floorBlocks?: number;
  /** A block free this long gives its memory back. Default 2000 ms. */
  idleMs?: number;
  /** Blocks numbered below this are kept (see the module comment). Default 0. */
  keptBlocks?: number;
}

/** One reader waiting for a block. */
interface Waiter {
  onBlock: (block: number) => void;
}

/** See the module comment. */
export class BlockLedger {
  readonly blockBytes: number;
  readonly maxBlocks: number;
  readonly floorBlocks: number;
  readonly idleMs: number;
  readonly keptBlocks: number;
  readonly budget: MemoryBudget | undefined;
  /** Blocks in use now (held by at least one holder). */
  inUse = 0;
  /** Most blocks in use at once so far. */
  peakInUse = 0;
  /** take() calls that found no block. */
  refusals = 0;
  /** Blocks taken past the budget for bytes that had already been read. */
  overdrafts = 0;
  private refs = new Int32Array(64);
  private freedAtMs = new Float64Array(64);
  // Free blocks, last freed on top; free[0 .. given) have given their memory back. Kept ones apart.
  private readonly free: number[] = [];
  private readonly keptFree: number[] = [];
  private given = 0;
  private created = 0;
  private readonly waiters = new Set<Waiter>();
  private serving = false;

  constructor(options: BlockLedgerOptions) {
    if (!Number.isSafeInteger(options.blockBytes) || options.blockBytes < 1) throw new RangeError(`blockBytes must be a whole number >= 1, got ${options.blockBytes}`);
    const maxBlocks = options.maxBlocks ?? Infinity;
    if (!(maxBlocks >= 1)) throw new RangeError(`maxBlocks must be >= 1, got ${maxBlocks}`);
    const floorBlocks = options.floorBlocks ?? 2;
    if (!Number.isSafeInteger(floorBlocks) || floorBlocks < 0) throw new RangeError(`floorBlocks must be a whole number >= 0, got ${floorBlocks}`);
    this.blockBytes = options.blockBytes;
    this.maxBlocks = maxBlocks;
    this.floorBlocks = Math.min(floorBlocks, maxBlocks);
    this.idleMs = options.idleMs ?? 2000;
    this.keptBlocks = options.keptBlocks ?? 0;
    this.budget = options.budget;
  }

  /** Blocks ever created (the highest block number + 1). */
  get createdBlocks(): number {
    return this.created;
  }

  /** Readers waiting for a block. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Bytes charged to the budget for blocks in use. */
  get chargedBytes(): number {
    return this.budget ? this.inUse * this.blockBytes : 0;
  }

  /** True when take() would find no block now: readers wait, or neither the budget nor the floor has room. */
  get exhausted(): boolean {
    return this.waiters.size > 0 || !this.canGrant();
  }

  /** Holders of `block` (0 when free). */
  refsOf(block: number): number {
    return block >= 0 && block < this.created ? this.refs[block]! : 0;
  }

  /** A block with one holder (the caller), charged to the budget; -1 when there is none for a newcomer now. */
  take(): number {
    if (this.waiters.size > 0 || !this.canGrant()) {
      this.refusals++;
      return -1;
    }
    return this.grant(false);
  }

  /**
   * A block for bytes already read: charged within the budget if it has room, past it otherwise
   * (an overdraft), ahead of any waiter; -1 only when maxBlocks are in use.
   */
  takeLanded(): number {
    if (this.inUse >= this.maxBlocks) {
      this.refusals++;
      return -1;
    }
    return this.grant(true);
  }

  /** One more holder of a block in use. */
  retain(block: number): void {
    if (this.refsOf(block) <= 0) throw new RangeError(`block ${block} is not in use`);
    this.refs[block]!++;
  }

  /** One holder less; true when that was the last one and the block is free again (its charge given back). */
  release(block: number, nowMs: number): boolean {
    if (this.refsOf(block) <= 0) throw new RangeError(`block ${block} released more often than it was held`);
    if (--this.refs[block]! > 0) return false;
    this.inUse--;
    this.budget?.release(this.blockBytes);
    this.freedAtMs[block] = nowMs;
    if (block < this.keptBlocks) this.keptFree.push(block);
    else this.free.push(block);
    return true;
  }

  /** Queues `onBlock` (FIFO) to be given a block, with one holder, once one can be had; returns the cancel function. */
  wait(onBlock: (block: number) => void): () => void {
    const waiter: Waiter = { onBlock };
    this.waiters.add(waiter);
    return () => {
      this.waiters.delete(waiter);
    };
  }

  /** Hands blocks to waiters, first come first served, while the budget (or the floor) has room. */
  serve(): void {
    if (this.serving) return; // a waiter that releases a block from its callback is served by the loop below
    this.serving = true;
    try {
      while (this.waiters.size > 0 && this.canGrant()) {
        const waiter = this.waiters.values().next().value!;
        this.waiters.delete(waiter);
        waiter.onBlock(this.grant(false));
      }
    } finally {
      this.serving = false;
    }
  }

  /**
   * Free blocks idle since `nowMs - idleMs` or longer that still have their memory; each is
   * reported once (until taken again), so the caller gives that memory back.
   */
  idleBlocks(nowMs: number): number[] {
    const out: number[] = [];
    while (this.given < this.free.length && this.freedAtMs[this.free[this.given]!]! <= nowMs - this.idleMs) {
      out.push(this.free[this.given]!);
      this.given++;
    }
    return out;
  }

  private canGrant(): boolean {
    if (this.inUse >= this.maxBlocks) return false;
    return !this.budget || this.budget.availableBytes >= this.blockBytes || this.inUse < this.floorBlocks;
  }

  // Charges and hands out a free kept block, else the last freed, else a new one.
  private grant(landed: boolean): number {
    const budget = this.budget;
    if (budget && !budget.tryAcquire(this.blockBytes)) {
      // Past the budget: an overdraft for landed bytes, or the floor that keeps the pool moving.
      budget.adjust(this.blockBytes);
      if (landed) this.overdrafts++;
    }
    let block = this.keptFree.pop() ?? this.free.pop();
    if (block === undefined) block = this.create();
    if (this.given > this.free.length) this.given = this.free.length;
    this.refs[block] = 1;
    this.inUse++;
    if (this.inUse > this.peakInUse) this.peakInUse = this.inUse;
    return block;
  }

  private create(): number {
    const block = this.created++;
    if (block >= this.refs.length) {
      const refs = new Int32Array(this.refs.length * 2);
      refs.set(this.refs);
      this.refs = refs;
      const freedAt = new Float64Array(this.freedAtMs.length * 2);
      freedAt.set(this.freedAtMs);
      this.freedAtMs = freedAt;
    }
    return block;
  }
}
