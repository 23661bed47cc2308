/**
 * A token bucket over bytes, for `--rate SIZE` (bytes per second per direction per connection),
 * after nginx's proxy_download_rate / proxy_upload_rate and toxiproxy's bandwidth toxic.
 * Tokens accrue at `rateBytesPerS` up to `burstBytes`; time is passed in, nothing is scheduled.
 */

/** Options for a token bucket. */
export interface TokenBucketOptions {
  /** Sustained rate in bytes per second; must be > 0 (no bucket at all means no limit). */
  rateBytesPerS: number;
  /** Most tokens the bucket holds, i.e. the largest burst after a quiet spell. Default: one second's worth. */
  burstBytes?: number;
  /** The bucket starts full at this time. Default 0. */
  nowMs?: number;
}

/** What `take` allows. */
export interface TokenGrant {
  /** Bytes that may go now (0..requested). */
  granted: number;
  /** Milliseconds until the rest (at most a full bucket of it) may go; 0 when all was granted. */
  retryAfterMs: number;
}

/**
 * Two ways to spend: `take` grants what is there now and says when to ask again (shaping that
 * never exceeds the rate: slice the data); `charge` spends the whole amount at once, possibly
 * going into debt, and says how long to stay quiet to pay it back (policing after the fact:
 * the bytes already went, pause the source for that long).
 */
export class TokenBucket {
  readonly rateBytesPerS: number;
  readonly burstBytes: number;
  // Fractional tokens: at 1000 B/s, 0.4 ms is worth 0.4 of a byte, and rounding it away on
  // every call would lose rate. Negative while in debt after `charge`.
  private tokens: number;
  private lastMs: number;

  constructor(options: TokenBucketOptions) {
    const { rateBytesPerS } = options;
    if (!Number.isFinite(rateBytesPerS) || rateBytesPerS <= 0) {
      throw new RangeError(`rateBytesPerS must be a number > 0, got ${rateBytesPerS}`);
    }
    const burstBytes = options.burstBytes ?? Math.max(1, Math.round(rateBytesPerS));
    if (!Number.isSafeInteger(burstBytes) || burstBytes < 1) {
      throw new RangeError(`burstBytes must be a whole number >= 1, got ${burstBytes}`);
    }
    this.rateBytesPerS = rateBytesPerS;
    this.burstBytes = burstBytes;
    this.tokens = burstBytes;
    this.lastMs = options.nowMs ?? 0;
  }

  /** Whole tokens available at `nowMs` (negative while in debt). */
  available(nowMs: number): number {
    this.refill(nowMs);
    return this.whole();
  }

  /** Grants up to `bytes` from what the bucket holds at `nowMs`; see TokenGrant. */
  take(bytes: number, nowMs: number): TokenGrant {
    checkBytes(bytes);
    this.refill(nowMs);
    const granted = Math.max(0, Math.min(bytes, this.whole()));
    this.tokens -= granted;
    const rest = Math.min(bytes - granted, this.burstBytes);
    return { granted, retryAfterMs: rest === 0 ? 0 : this.msUntil(rest) };
  }

  /**
   * Spends `bytes` at `nowMs` even past zero, and returns how many milliseconds until the
   * balance is back to zero (0 when there was enough).
   */
  charge(bytes: number, nowMs: number): number {
    checkBytes(bytes);
    this.refill(nowMs);
    this.tokens -= bytes;
    return this.msUntil(0);
  }

  // A clock that steps back (or a caller passing an older time) adds nothing and takes nothing.
  private refill(nowMs: number): void {
    if (nowMs > this.lastMs) {
      this.tokens = Math.min(this.burstBytes, this.tokens + ((nowMs - this.lastMs) * this.rateBytesPerS) / 1000);
      this.lastMs = nowMs;
    }
  }

  // Whole tokens, forgiving floating-point dust so that waiting exactly msUntil() finds them.
  private whole(): number {
    return Math.floor(this.tokens + 1e-6);
  }

  // Whole milliseconds until the balance reaches `target` tokens, rounded up so that asking
  // again after that long always finds them.
  private msUntil(target: number): number {
    const missing = target - this.tokens;
    if (missing <= 1e-6) return 0;
    return Math.max(1, Math.ceil((missing * 1000) / this.rateBytesPerS));
  }
}

function checkBytes(bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`bytes must be a whole number >= 0, got ${bytes}`);
}
