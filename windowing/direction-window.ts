import type { MemoryBudget } from './memory-budget.js';
import { Watermark, type Crossing } from './watermark.js';

/** What the owner of a source should do after a change in the bytes queued toward the sink. */
export type FlowAction = 'pause' | 'resume' | null;

/** Options for one direction's window. */
export interface DirectionWindowOptions {
  /** Bytes allowed to wait for the sink before the source is held (the high watermark). */
  windowBytes: number;
  /** Bytes at or under which a held source is let go; defaults to half the window. */
  lowBytes?: number;
  /**
   * The process-wide budget this direction's bytes are charged to. As it fills, the window
   * shrinks in proportion (MemoryBudget.effectiveWindow), so many slow connections together
   * stay within it.
   */
  budget?: MemoryBudget;
}

/**
 * The window of one direction (source -> sink): told how many bytes wait for the sink after every
 * write and every flush, it says when to hold the source and when to let it go again, with
 * high/low hysteresis. It also charges the direction's bytes to the memory budget, if any.
 * It only decides; the direction's one source owner acts (see HoldLedger for the held time).
 */
export class DirectionWindow {
  readonly watermark: Watermark;
  readonly budget: MemoryBudget | undefined;
  private holding = false;
  private chargedBytes = 0;

  constructor(options: DirectionWindowOptions) {
    this.watermark = new Watermark(options.windowBytes, options.lowBytes);
    this.budget = options.budget;
  }

  /** True between a 'pause' answer and the next 'resume'. */
  get isPaused(): boolean {
    return this.holding;
  }

  /**
   * Reports `queuedBytes` now waiting for the sink and returns what to do with the source.
   * `sinkFull` is true when the sink's write() returned false: that pauses too, whatever the
   * count says, because the sink asked for it. A window shrunk by the budget pauses the same way.
   */
  update(queuedBytes: number, sinkFull = false): FlowAction {
    let full = sinkFull;
    if (this.budget && this.watermark.highBytes > 0 && queuedBytes >= this.budget.effectiveWindow(this.watermark.highBytes)) full = true;
    const crossing: Crossing | null = this.watermark.update(queuedBytes);
    if (!this.holding) {
      if (crossing === 'above-high' || full) {
        this.holding = true;
        return 'pause';
      }
      return null;
    }
    if (crossing === 'below-low' || (!this.watermark.isAboveHigh && !full && queuedBytes <= this.watermark.lowBytes)) {
      this.holding = false;
      return 'resume';
    }
    return null;
  }

  /** Bytes a read may bring now without passing the (budget-shrunk) window. */
  roomBytes(queuedBytes: number, fallbackBytes: number): number {
    const high = this.watermark.highBytes || fallbackBytes;
    return (this.budget ? this.budget.effectiveWindow(high) : high) - queuedBytes;
  }

  /** `baseBytes` shrunk as the memory budget fills, as the window is (unchanged without a budget). */
  scaled(baseBytes: number): number {
    return this.budget ? this.budget.effectiveWindow(baseBytes) : baseBytes;
  }

  /** Charges the budget with `bytes` now held by the direction (replacing the previous figure). */
  charge(bytes: number): void {
    if (!this.budget) return;
    this.budget.adjust(bytes - this.chargedBytes);
    this.chargedBytes = bytes;
  }

  /** Gives back to the budget whatever is still charged (the direction is finished). */
  release(): void {
    if (this.budget && this.chargedBytes > 0) this.budget.adjust(-this.chargedBytes);
    this.chargedBytes = 0;
  }
}
