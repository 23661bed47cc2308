/**
 * The process-wide memory budget (`--memory-budget SIZE`, default 256 MiB): a ledger of every
 * byte sluice holds in buffers, with three answers drawn from it.
 *
 *  - hard cap: `tryAcquire` / `acquireUpTo` never let the sum pass the budget. A reader that
 *    takes its buffer from the budget before reading (a pooled `onread` buffer) can therefore
 *    never push the total over, however many connections read at once.
 *  - soft shrink: `effectiveWindow(base)` scales each per-direction window by the free share
 *    of the budget, so windows shrink in proportion as it fills. With N directions each at
 *    most W*(1-fill), the total settles where used = N*W*B/(B+N*W), always below B.
 *  - admission: `accepting` turns false at saturation (fill >= saturationFill) and true again
 *    only at or below resumeFill; the gap keeps it from flapping at one threshold (the same
 *    hysteresis as Watermark, after Envoy's overload manager, which stops accepting
 *    connections past a memory threshold).
 *
 * Pure bookkeeping: nothing here allocates, times or reads a clock.
 */

/** Default budget: 256 MiB, the cap on all buffered bytes of the process. */
export const DEFAULT_MEMORY_BUDGET_BYTES = 256 * 1024 * 1024;

/** Options for a memory budget. */
export interface MemoryBudgetOptions {
  /** Most bytes that may be buffered at once, over all connections. */
  budgetBytes: number;
  /**
   * The smallest a window shrinks to (unless its base is smaller). Default 16 KiB, HAProxy's
   * bufsize: below it each pause/resume moves too little to be worth the round trip.
   */
  minWindowBytes?: number;
  /** Fill (0..1] at which new connections are no longer accepted. Default 0.95. */
  saturationFill?: number;
  /** Fill at or under which accepting resumes; below saturationFill. Default saturationFill - 0.1 (0.85). */
  resumeFill?: number;
}

/** A ledger of buffered bytes against a fixed budget; see the module comment. */
export class MemoryBudget {
  readonly budgetBytes: number;
  readonly minWindowBytes: number;
  readonly saturationFill: number;
  readonly resumeFill: number;
  private used = 0;
  private saturated = false;
  /** Times the budget turned saturated (new connections stopped). */
  saturations = 0;
  /** Acquisitions refused or cut short because the budget was full. */
  refusals = 0;

  constructor(options: MemoryBudgetOptions) {
    const { budgetBytes } = options;
    if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 1) {
      throw new RangeError(`budgetBytes must be a whole number >= 1, got ${budgetBytes}`);
    }
    const minWindowBytes = options.minWindowBytes ?? 16 * 1024;
    if (!Number.isSafeInteger(minWindowBytes) || minWindowBytes < 1) {
      throw new RangeError(`minWindowBytes must be a whole number >= 1, got ${minWindowBytes}`);
    }
    const saturationFill = options.saturationFill ?? 0.95;
    if (!(saturationFill > 0 && saturationFill <= 1)) {
      throw new RangeError(`saturationFill must be in (0, 1], got ${saturationFill}`);
    }
    const resumeFill = options.resumeFill ?? Math.max(0, saturationFill - 0.1);
    if (!(resumeFill >= 0 && resumeFill < saturationFill)) {
      throw new RangeError(`resumeFill must be >= 0 and below saturationFill (${saturationFill}), got ${resumeFill}`);
    }
    this.budgetBytes = budgetBytes;
    this.minWindowBytes = minWindowBytes;
    this.saturationFill = saturationFill;
    this.resumeFill = resumeFill;
  }

  /** Bytes currently accounted for. */
  get usedBytes(): number {
    return this.used;
  }

  /** Bytes still free. */
  get availableBytes(): number {
    return this.budgetBytes - this.used;
  }

  /** Share of the budget in use, 0..1. */
  get fill(): number {
    return this.used / this.budgetBytes;
  }

  /** False from saturation until the fill is back at or under resumeFill. */
  get accepting(): boolean {
    return !this.saturated;
  }

  /** Takes `bytes` if all of them fit, else nothing; true when taken. */
  tryAcquire(bytes: number): boolean {
    checkBytes(bytes);
    if (bytes > this.availableBytes) {
      this.refusals++;
      return false;
    }
    this.used += bytes;
    this.recheck();
    return true;
  }

  /** Takes as much of `bytes` as fits and returns how much that was. */
  acquireUpTo(bytes: number): number {
    checkBytes(bytes);
    const granted = Math.min(bytes, this.availableBytes);
    if (granted < bytes) this.refusals++;
    this.used += granted;
    this.recheck();
    return granted;
  }

  /**
   * Records a change in bytes already held (a read that has happened cannot be refused): the
   * ledger follows what is really buffered, and may pass the budget; callers shrink windows
   * and stop accepting from what it says. Negative deltas give bytes back.
   */
  adjust(deltaBytes: number): void {
    if (!Number.isSafeInteger(deltaBytes)) throw new RangeError(`deltaBytes must be a whole number, got ${deltaBytes}`);
    if (-deltaBytes > this.used) throw new RangeError(`released ${-deltaBytes} bytes but only ${this.used} are held`);
    this.used += deltaBytes;
    this.recheck();
  }

  /** Gives back `bytes` taken earlier. Giving back more than is held is a bug and throws. */
  release(bytes: number): void {
    checkBytes(bytes);
    if (bytes > this.used) throw new RangeError(`released ${bytes} bytes but only ${this.used} are held`);
    this.used -= bytes;
    this.recheck();
  }

  /**
   * The window to use now for a direction whose configured window is `baseBytes`: scaled by
   * the free share of the budget, never below minWindowBytes (or the base, if smaller), never 0.
   */
  effectiveWindow(baseBytes: number): number {
    if (!Number.isSafeInteger(baseBytes) || baseBytes < 1) {
      throw new RangeError(`baseBytes must be a whole number >= 1, got ${baseBytes}`);
    }
    const floor = Math.min(baseBytes, this.minWindowBytes);
    return Math.max(floor, Math.floor(baseBytes * (1 - Math.min(1, this.fill))));
  }

  private recheck(): void {
    const fill = this.fill;
    if (!this.saturated && fill >= this.saturationFill) {
      this.saturated = true;
      this.saturations++;
    } else if (this.saturated && fill <= this.resumeFill) {
      this.saturated = false;
    }
  }
}

function checkBytes(bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`bytes must be a whole number >= 0, got ${bytes}`);
}
