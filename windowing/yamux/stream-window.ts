/**
 * Per-stream window accounting, both directions, as plain arithmetic.
 *
 *   send side:    creditBytes = what the peer granted and we have not yet used
 *   receive side: windowBytes = creditBytes (peer may still send) + bufferedBytes (arrived, not
 *                 consumed) + owedBytes (consumed, not yet granted back)
 *
 * Credit goes back to the peer only for bytes the consumer took, in batches of at least half the
 * window, and only at the moment a window update carrying it is queued (grant()), so the limit we
 * enforce never runs ahead of what the peer has been told.
 */
import { INITIAL_STREAM_WINDOW_BYTES, UINT32_MAX } from './constants.js';
import { ReceiveWindowExceededError, StreamStateError, WindowOverflowError } from './errors.js';

/** Send credit for one stream: never send more than the peer granted. */
export class SendWindow {
  /** Bytes we may still send before the peer grants more. */
  creditBytes = INITIAL_STREAM_WINDOW_BYTES;

  constructor(readonly streamId: number) {}

  /** Adds a window update's delta; past 2^32-1 is a protocol error (WindowOverflowError). */
  grant(deltaBytes: number): void {
    if (this.creditBytes + deltaBytes > UINT32_MAX) {
      throw new WindowOverflowError(this.streamId, this.creditBytes, deltaBytes);
    }
    this.creditBytes += deltaBytes;
  }

  /**
   * Takes credit for up to `wantedBytes` and returns how many may go now: all of them if they fit,
   * otherwise what the credit allows, or 0 when that is under `minFrameBytes` (no tiny frames).
   */
  take(wantedBytes: number, minFrameBytes: number): number {
    let n = Math.min(wantedBytes, this.creditBytes);
    if (n < wantedBytes && n < minFrameBytes) n = 0;
    this.creditBytes -= n;
    return n;
  }
}

/** Receive credit for one stream: what the peer may send, and when to grant more. */
export class ReceiveWindow {
  /** Bytes the peer may still send. */
  creditBytes = INITIAL_STREAM_WINDOW_BYTES;
  /** Bytes announced by data headers and not yet consumed. */
  bufferedBytes = 0;
  /** Of those, bytes actually handed to the consumer (the rest are still on the wire). */
  deliveredBytes = 0;
  private window: number;

  /** `windowBytes` is the target window; anything beyond the spec's 256 KiB is owed from the start. */
  constructor(readonly streamId: number, windowBytes: number) {
    this.window = windowBytes;
  }

  /** Target window: the credit the peer will have once everything consumed is granted back. */
  get windowBytes(): number {
    return this.window;
  }

  /** Consumed bytes not yet granted back (negative after a shrink, until the consumer catches up). */
  get owedBytes(): number {
    return this.window - this.creditBytes - this.bufferedBytes;
  }

  /** Accounts for a data header of `lengthBytes`; more than the credit is a protocol error. */
  reserve(lengthBytes: number): void {
    if (lengthBytes > this.creditBytes) {
      throw new ReceiveWindowExceededError(this.streamId, lengthBytes, this.creditBytes);
    }
    this.creditBytes -= lengthBytes;
    this.bufferedBytes += lengthBytes;
  }

  /** Records payload bytes handed to the consumer. */
  deliver(bytes: number): void {
    this.deliveredBytes += bytes;
  }

  /** Records bytes the consumer took; more than it was handed is a caller bug (StreamStateError). */
  consume(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > this.deliveredBytes) {
      throw new StreamStateError(this.streamId, `consumed ${bytes} bytes but only ${this.deliveredBytes} were delivered and not consumed`);
    }
    this.deliveredBytes -= bytes;
    this.bufferedBytes -= bytes;
  }

  /** True when at least half the window is owed: the batch threshold for a window update. */
  get shouldGrant(): boolean {
    return this.owedBytes > 0 && this.owedBytes >= this.window / 2;
  }

  /** Moves the target window; growth is owed at once, a shrink is absorbed by future consumption. */
  resize(windowBytes: number): void {
    this.window = windowBytes;
  }

  /** Grants everything owed and returns the delta for the window update being queued right now. */
  grant(): number {
    const delta = Math.max(0, this.owedBytes);
    this.creditBytes += delta;
    return delta;
  }
}
