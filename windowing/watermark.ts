/**
 * High/low hysteresis over a byte count, after Envoy's watermark_buffer.cc: the high mark is
 * reported once when the count reaches it, and nothing more until the count falls to the low
 * mark, so a count hovering around one threshold never flaps.
 */
export type Crossing = 'above-high' | 'below-low';

/** A pair of thresholds that reports each crossing exactly once. A high mark of 0 disables it. */
export class Watermark {
  readonly highBytes: number;
  readonly lowBytes: number;
  private above = false;

  /** `lowBytes` defaults to half the high mark, as Envoy does. */
  constructor(highBytes: number, lowBytes: number = Math.floor(highBytes / 2)) {
    if (!Number.isSafeInteger(highBytes) || highBytes < 0) {
      throw new RangeError(`highBytes must be a whole number >= 0, got ${highBytes}`);
    }
    if (!Number.isSafeInteger(lowBytes) || lowBytes < 0 || (highBytes > 0 && lowBytes >= highBytes)) {
      throw new RangeError(`lowBytes must be a whole number >= 0 and below highBytes (${highBytes}), got ${lowBytes}`);
    }
    this.highBytes = highBytes;
    this.lowBytes = lowBytes;
  }

  /** True between an 'above-high' report and the next 'below-low' one. */
  get isAboveHigh(): boolean {
    return this.above;
  }

  /**
   * Moves the count to `bytes` and returns the crossing this causes, if any.
   * A window of N bytes is full at N: 'above-high' fires when bytes >= highBytes (the same
   * point where a Node writable with highWaterMark N starts returning false); 'below-low'
   * fires when bytes <= lowBytes after that.
   */
  update(bytes: number): Crossing | null {
    if (this.highBytes === 0) return null;
    if (!this.above) {
      if (bytes >= this.highBytes) {
        this.above = true;
        return 'above-high';
      }
      return null;
    }
    if (bytes <= this.lowBytes) {
      this.above = false;
      return 'below-low';
    }
    return null;
  }
}
