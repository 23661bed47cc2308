import type { MemoryBudget } from './memory-budget.js';
import { Watermark, type Crossing } from './watermark.js';

/** What the relay should do with its source after a change in the bytes queued toward the sink. */
export type FlowAction = 'pause' | 'resume' | null;

/** Options for one direction of a relay. */
export interface DirectionWindowOptions {
  /** Bytes allowed to wait for the sink before the source is paused (the high watermark). */
  windowBytes: number;
  /** Bytes at or under which a paused source resumes; defaults to half the window. */
  lowBytes?: number;
  /**
   * The process-wide budget this direction's queued bytes are charged to. As it fills, the
   * window shrinks in proportion (MemoryBudget.effectiveWindow), so many slow connections
   * together stay within it.
   */
  budget?: MemoryBudget;
}

/**
 * Flow-control accounting for one direction of a relay (source -> sink). The relay reports how
 * many bytes are waiting for the sink after every write and every flush; this says when to stop
 * and restart reading from the source, keeps the ledger of how long the source was held back,
 * and charges the queued bytes to the memory budget if there is one.
 * It never looks at a clock: callers pass `nowMs`.
 */
export class DirectionWindow {
  readonly watermark: Watermark;
  readonly budget: MemoryBudget | undefined;
  /** How many times the source was paused. */
  pauses = 0;
  /** How long the most recent pause lasted, once it has ended. */
  lastPauseMs = 0;
  private heldBackTotalMs = 0;
  private pausedAtMs: number | null = null;
  private chargedBytes = 0;

  constructor(options: DirectionWindowOptions) {
    this.watermark = new Watermark(options.windowBytes, options.lowBytes);
    this.budget = options.budget;
  }

  /** True while the source should be paused. */
  get isPaused(): boolean {
    return this.pausedAtMs !== null;
  }

  /**
   * Reports `queuedBytes` now waiting for the sink and returns what to do with the source.
   * `sinkFull` is true when the sink's write() returned false: that pauses too, whatever
   * the count says, because the sink asked for it. A window shrunk by the budget pauses the
   * same way.
   */
  update(queuedBytes: number, nowMs: number, sinkFull = false): FlowAction {
    let full = sinkFull;
    this.charge(queuedBytes);
    if (this.budget && this.watermark.highBytes > 0 && queuedBytes >= this.budget.effectiveWindow(this.watermark.highBytes)) full = true;
    const crossing: Crossing | null = this.watermark.update(queuedBytes);
    if (this.pausedAtMs === null) {
      if (crossing === 'above-high' || full) {
        this.markPaused(nowMs);
        return 'pause';
      }
      return null;
    }
    if (crossing === 'below-low' || (!this.watermark.isAboveHigh && !full && queuedBytes <= this.watermark.lowBytes)) {
      this.markResumed(nowMs);
      return 'resume';
    }
    return null;
  }

  /** Charges the budget with `queuedBytes` now held (replacing the previous figure). */
  charge(queuedBytes: number): void {
    if (!this.budget) return;
    this.budget.adjust(queuedBytes - this.chargedBytes);
    this.chargedBytes = queuedBytes;
  }

  /** Records a pause decided elsewhere (a message queue that blocked); no-op if already paused. */
  markPaused(nowMs: number): void {
    if (this.pausedAtMs !== null) return;
    this.pausedAtMs = nowMs;
    this.pauses++;
  }

  /** Records the end of a pause; no-op if not paused. */
  markResumed(nowMs: number): void {
    if (this.pausedAtMs === null) return;
    this.lastPauseMs = Math.max(0, nowMs - this.pausedAtMs);
    this.heldBackTotalMs += this.lastPauseMs;
    this.pausedAtMs = null;
  }

  /** Gives back to the budget whatever is still charged (the direction is finished). */
  release(): void {
    if (this.budget && this.chargedBytes > 0) this.budget.adjust(-this.chargedBytes);
    this.chargedBytes = 0;
  }

  /** How long the pause in progress has lasted (0 when not paused). */
  currentPauseMs(nowMs: number): number {
    return this.pausedAtMs === null ? 0 : Math.max(0, nowMs - this.pausedAtMs);
  }

  /** Total time the source has been held back, including a pause still in progress. */
  heldBackMs(nowMs: number): number {
    const current = this.pausedAtMs === null ? 0 : Math.max(0, nowMs - this.pausedAtMs);
    return this.heldBackTotalMs + current;
  }
}
