import type { Readable } from 'node:stream';
import { TokenBucket } from '../../windowing/index.js';

/**
 * `--rate SIZE`: holds one direction of a connection to a byte rate (nginx's
 * proxy_download_rate, toxiproxy's bandwidth toxic). It polices after the fact: each chunk the
 * source emits is charged to a token bucket; when that leaves a debt, the source is paused for
 * exactly as long as paying it back takes, then resumed on a timer.
 *
 *   source --'data'--> charge(bucket) --debt?--> source.pause() ... setTimeout(debt/rate) --> resume
 *
 * So the long-run rate never exceeds the set one, and a burst is at most the bucket plus one
 * chunk. It knows nothing of the relay: when something else also pauses the source
 * (backpressure), the two agree through `canResume` (asked before the rate timer resumes the
 * source) and `holding` (true while the rate holds it; the other party should not resume then).
 */

/** Options for a rate limiter. */
export interface RateLimiterOptions {
  rateBytesPerS: number;
  /** Largest burst; default one second of rate (TokenBucket's default). */
  burstBytes?: number;
  /** Clock in ms; default performance.now. */
  now?: () => number;
  /** Asked before the rate timer resumes the source; false leaves it paused for its other owner. */
  canResume?: () => boolean;
}

/** Applies a token bucket to a readable's 'data' flow; see the module comment. */
export class RateLimiter {
  readonly bucket: TokenBucket;
  /** Times the source was paused for the rate. */
  pauses = 0;
  /** Bytes seen. */
  bytes = 0;
  private readonly now: () => number;
  private readonly canResume: () => boolean;
  private timer: NodeJS.Timeout | null = null;
  private started = false;

  constructor(
    private readonly source: Readable,
    options: RateLimiterOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.canResume = options.canResume ?? (() => true);
    this.bucket = new TokenBucket({ rateBytesPerS: options.rateBytesPerS, burstBytes: options.burstBytes, nowMs: this.now() });
  }

  /** True while the source is paused for the rate. */
  get holding(): boolean {
    return this.timer !== null;
  }

  /**
   * Starts watching. Adding a 'data' listener starts a stream flowing unless it was paused
   * explicitly, so call this once the source's consumer is attached.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.source.on('data', this.onData);
    this.source.once('close', this.stop);
  }

  /** Stops watching and cancels a pending resume; leaves the source as it is. */
  readonly stop = (): void => {
    this.source.off('data', this.onData);
    this.source.off('close', this.stop);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  };

  private readonly onData = (chunk: Buffer | string): void => {
    const n = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    this.bytes += n;
    const waitMs = this.bucket.charge(n, this.now());
    if (waitMs === 0) return;
    this.source.pause();
    if (this.timer) clearTimeout(this.timer);
    else this.pauses++;
    this.timer = setTimeout(this.onTimer, waitMs);
  };

  private readonly onTimer = (): void => {
    this.timer = null;
    // A chunk that arrived while paused (already buffered in the stream) may have added debt.
    const waitMs = this.bucket.charge(0, this.now());
    if (waitMs > 0) {
      this.timer = setTimeout(this.onTimer, waitMs);
      return;
    }
    if (this.canResume()) this.source.resume();
  };
}
