/**
 * The process-wide disk budget of the spill strategy (`--spill-max`), shared by every connection:
 * bytes are reserved before they are written and released when their segment file is deleted.
 * When a reservation does not fit, the answer is "full" and the caller falls back to block, never
 * to loss. Pure accounting: no file system here.
 */
export class SpillBudget {
  /** Most bytes the spill may hold at once, over all connections. */
  readonly maxBytes: number;
  /** Reservations refused because the budget was full. */
  refusals = 0;
  private used = 0;
  private reservedTotal = 0;

  constructor(maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(`maxBytes must be a whole number >= 0, got ${maxBytes}`);
    }
    this.maxBytes = maxBytes;
  }

  /** Bytes reserved now (written or about to be, not yet deleted). */
  get usedBytes(): number {
    return this.used;
  }

  /** Bytes ever reserved. */
  get totalBytes(): number {
    return this.reservedTotal;
  }

  /** Bytes still available. */
  get freeBytes(): number {
    return this.maxBytes - this.used;
  }

  /** True if `bytes` would fit now (reserves nothing). */
  fits(bytes: number): boolean {
    return this.used + bytes <= this.maxBytes;
  }

  /** Reserves `bytes` if they fit and says whether they did; a refusal means "full". */
  tryReserve(bytes: number): boolean {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`bytes must be a whole number >= 0, got ${bytes}`);
    if (!this.fits(bytes)) {
      this.refusals++;
      return false;
    }
    this.used += bytes;
    this.reservedTotal += bytes;
    return true;
  }

  /** Gives back `bytes` reserved earlier (their file was deleted, or they were never written). */
  release(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > this.used) {
      throw new RangeError(`release: bytes must be a whole number from 0 to ${this.used}, got ${bytes}`);
    }
    this.used -= bytes;
  }
}
