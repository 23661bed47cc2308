/** What to do with a newly arrived connection. */
export type AdmissionVerdict = 'admit' | 'queue' | 'reject';

/** Limits on connections toward the target. */
export interface AdmissionOptions {
  /** Most connections allowed to the target at once; 0 means no limit. */
  maxActive: number;
  /** Most connections allowed to wait for a slot; past it, new arrivals are turned away. */
  maxQueued: number;
}

/**
 * Admission control for connections toward a target: at most `maxActive` at once, the rest
 * waiting first-come first-served in a bounded queue. Holds no timers; the caller times out
 * waiters with `leave()` and frees slots with `release()`.
 */
export class Admission<T> {
  private maxActive: number;
  readonly maxQueued: number;
  private activeCount = 0;
  // A Set keeps insertion order and deletes any member in O(1), which a FIFO with timeouts needs.
  private readonly waiting = new Set<T>();

  constructor(options: AdmissionOptions) {
    if (!Number.isSafeInteger(options.maxActive) || options.maxActive < 0) {
      throw new RangeError(`maxActive must be a whole number >= 0, got ${options.maxActive}`);
    }
    if (!Number.isSafeInteger(options.maxQueued) || options.maxQueued < 0) {
      throw new RangeError(`maxQueued must be a whole number >= 0, got ${options.maxQueued}`);
    }
    this.maxActive = options.maxActive;
    this.maxQueued = options.maxQueued;
  }

  /** Connections currently holding a slot. */
  get active(): number {
    return this.activeCount;
  }

  /** Connections waiting for a slot. */
  get queued(): number {
    return this.waiting.size;
  }

  /** The current limit (0 = none). */
  get limit(): number {
    return this.maxActive;
  }

  /** Decides for a new arrival; 'admit' takes a slot, 'queue' puts it in line. */
  arrive(item: T): AdmissionVerdict {
    if (this.hasRoom() && this.waiting.size === 0) {
      this.activeCount++;
      return 'admit';
    }
    if (this.waiting.size >= this.maxQueued) return 'reject';
    this.waiting.add(item);
    return 'queue';
  }

  /** Removes a waiter that gave up (timed out or went away); false if it was not waiting. */
  leave(item: T): boolean {
    return this.waiting.delete(item);
  }

  /** Frees a slot and returns the waiters admitted in its place (each now holds a slot). */
  release(): T[] {
    if (this.activeCount > 0) this.activeCount--;
    return this.admitWaiting();
  }

  /**
   * Changes the limit (adaptive concurrency moves it); returns the waiters a raised limit
   * lets in. A lowered limit takes effect as connections finish; nobody is cut off.
   */
  setLimit(maxActive: number): T[] {
    if (!Number.isSafeInteger(maxActive) || maxActive < 0) {
      throw new RangeError(`maxActive must be a whole number >= 0, got ${maxActive}`);
    }
    this.maxActive = maxActive;
    return this.admitWaiting();
  }

  private hasRoom(): boolean {
    return this.maxActive === 0 || this.activeCount < this.maxActive;
  }

  private admitWaiting(): T[] {
    const admitted: T[] = [];
    for (const item of this.waiting) {
      if (!this.hasRoom()) break;
      this.waiting.delete(item);
      this.activeCount++;
      admitted.push(item);
    }
    return admitted;
  }
}
