import { Watermark, type Crossing } from './watermark.js';

/** What the relay should do with its source after a change in the bytes queued toward the sink. */
export type FlowAction = 'pause' | 'resume' | null;

/** Options for one direction of a relay. */
export interface DirectionWindowOptions {
  /** Bytes allowed to wait for the sink before the source is paused (the high watermark). */
  windowBytes: number;
  /** Bytes at or under which a paused source resumes; defaults to half the window. */
  lowBytes?: number;
}

/**
 * Flow-control accounting for one direction of a relay (source -> sink). The relay reports how
 * many bytes are waiting for the sink after every write and every flush; this says when to stop
 * and restart reading from the source, and keeps the ledger of how long the source was held back.
 * It never looks at a clock: callers pass `nowMs` when a pause starts or ends.
 */
export class DirectionWindow {
  readonly watermark: Watermark;
  /** How many times the source was paused. */
  pauses = 0;
  private heldBackTotalMs = 0;
  private pausedAtMs: number | null = null;

  constructor(options: DirectionWindowOptions) {
    this.watermark = new Watermark(options.windowBytes, options.lowBytes);
  }

  /** True while the source should be paused. */
  get isPaused(): boolean {
    return this.pausedAtMs !== null;
  }

  /**
   * Reports `queuedBytes` now waiting for the sink and returns what to do with the source.
   * `sinkFull` is true when the sink's write() returned false: that pauses too, whatever
   * the count says, because the sink asked for it.
   */
  update(queuedBytes: number, nowMs: number, sinkFull = false): FlowAction {
    const crossing: Crossing | null = this.watermark.update(queuedBytes);
    if (this.pausedAtMs === null) {
      if (crossing === 'above-high' || sinkFull) {
        this.pausedAtMs = nowMs;
        this.pauses++;
        return 'pause';
      }
      return null;
    }
    if (crossing === 'below-low' || (!this.watermark.isAboveHigh && queuedBytes <= this.watermark.lowBytes)) {
      this.heldBackTotalMs += Math.max(0, nowMs - this.pausedAtMs);
      this.pausedAtMs = null;
      return 'resume';
    }
    return null;
  }

  /** Total time the source has been held back, including a pause still in progress. */
  heldBackMs(nowMs: number): number {
    const current = this.pausedAtMs === null ? 0 : Math.max(0, nowMs - this.pausedAtMs);
    return this.heldBackTotalMs + current;
  }
}
