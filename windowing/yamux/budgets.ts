/**
 * Flood budgets: counters that say when a peer costs far more than it spends. Each returns a plain
 * decision (true = over budget); the session turns that into a typed error and a go away.
 * See HARDENING.md rows 3, 5, 6 and 7.
 */

/** Counts frames that carry nothing (no payload, no delta, no flag) in a row; any other frame resets it (Envoy). */
export class EmptyFrameBudget {
  private run = 0;

  /** `maxConsecutive` empty frames are tolerated; one more is a flood. */
  constructor(readonly maxConsecutive: number) {}

  /** Records one inbound frame; returns true when the run of empty frames is over budget. */
  record(empty: boolean): boolean {
    this.run = empty ? this.run + 1 : 0;
    return this.run > this.maxConsecutive;
  }
}

/**
 * Caps inbound window updates relative to what could justify them: 5 + 2 * (streams opened +
 * perDataFrame * data frames sent) (Envoy's max_inbound_window_update_frames_per_data_frame_sent).
 */
export class WindowUpdateBudget {
  private received = 0;
  private streams = 0;
  private dataFrames = 0;

  constructor(readonly perDataFrame: number) {}

  /** Updates allowed so far. */
  get allowed(): number {
    return 5 + 2 * (this.streams + this.perDataFrame * this.dataFrames);
  }

  /** Updates received so far. */
  get receivedCount(): number {
    return this.received;
  }

  /** Records a stream opened by either side. */
  streamOpened(): void {
    this.streams++;
  }

  /** Records a data frame we sent. */
  dataFrameSent(): void {
    this.dataFrames++;
  }

  /** Records one inbound window update; returns true when over budget. */
  record(): boolean {
    this.received++;
    return this.received > this.allowed;
  }
}

/** Token bucket on resets from the peer (nghttp2's Rapid Reset defence): a burst, then a steady rate. */
export class ResetBucket {
  private tokens: number;
  private lastMs: number | null = null;

  constructor(readonly burst: number, readonly perSecond: number) {
    this.tokens = burst;
  }

  /** Takes one token at `nowMs`; returns true when the bucket was empty (over budget). */
  take(nowMs: number): boolean {
    if (this.lastMs !== null && nowMs > this.lastMs) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.lastMs) * this.perSecond) / 1000);
    }
    if (this.lastMs === null || nowMs > this.lastMs) this.lastMs = nowMs;
    if (this.tokens < 1) return true;
    this.tokens -= 1;
    return false;
  }
}

/**
 * Counts replies the peer forced us to queue (ping ACKs, stream refusals) until the caller reports
 * them flushed to the socket; a peer that keeps asking while never reading is capped (CVE-2019-9512).
 */
export class ControlReplyBudget {
  private pendingReplies = 0;

  constructor(readonly max: number) {}

  /** Replies queued or being written, not yet flushed. */
  get pending(): number {
    return this.pendingReplies;
  }

  /** Records one more reply about to be queued; returns true when that would exceed the cap (it is then not counted). */
  queue(): boolean {
    if (this.pendingReplies >= this.max) return true;
    this.pendingReplies++;
    return false;
  }

  /** Records `count` replies flushed to the socket. */
  flushed(count: number): void {
    this.pendingReplies = Math.max(0, this.pendingReplies - count);
  }
}
