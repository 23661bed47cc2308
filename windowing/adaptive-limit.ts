/**
 * Adaptive concurrency limit toward the target (`--adaptive-concurrency`), from measured
 * target latency. The rule is Netflix concurrency-limits' Gradient2
 * (concurrency-limits-core/.../limit/Gradient2Limit.java, Apache-2.0), applied once per
 * sampling window as its WindowedLimit does:
 *
 *   long     = exponential average of the window latencies (first `warmupWindows` plainly
 *              averaged, then factor 2/(longWindow+1): the baseline, ExpAvgMeasurement)
 *   short    = average latency of this window
 *   if long / short > 2: long *= 0.9          (recover fast once a long overload is over)
 *   if max inflight in the window < limit/2: keep the limit   (app-limited: no evidence)
 *   gradient = clamp(tolerance * long / short, 0.5, 1.0)      (never cut more than half)
 *   newLimit = limit * gradient + queueSize(limit)            (room to probe upward)
 *   limit    = clamp(limit * (1 - smoothing) + newLimit * smoothing, minLimit, maxLimit)
 *
 * Gradient2 rather than Envoy's gradient controller (gradient = (minRTT + buffer)/sampleRTT,
 * with minRTT re-measured by periodically pinning concurrency to its minimum): pinning would
 * mean holding back new TCP connections for the probe, and the long average needs no probe.
 *
 * One extension: sluice has two kinds of latency sample, connect time and time to drain a
 * window, milliseconds apart in scale. Averaging them together would let whichever kind is
 * more frequent in a window decide, so each kind keeps its own long and short figures and the
 * window's gradient is the smallest over the kinds sampled in it (the most congested signal).
 *
 * Pure: time is passed in; the caller feeds samples and applies `limit` with Admission.setLimit.
 */

/** Which latency a sample measures; each kind is only ever compared with itself. */
export type LatencyKind = 'connect' | 'drain';

/** Options, with Netflix's and Envoy's defaults where they apply. */
export interface AdaptiveLimitOptions {
  /** Limit before any sample. Default 20 (Gradient2). */
  initialLimit?: number;
  /** Floor. Default 3 (Envoy adaptive concurrency's min_concurrency). */
  minLimit?: number;
  /** Ceiling. Default 1000 (Envoy's max_concurrency_limit). */
  maxLimit?: number;
  /** Weight of each new estimate, 0 < s <= 1. Default 0.2 (Gradient2). */
  smoothing?: number;
  /** How far latency may rise over the baseline before the limit falls, >= 1. Default 1.5 (Gradient2's rttTolerance). */
  tolerance?: number;
  /**
   * Allowance added each window so the limit can probe upward. Default sqrt(limit), Envoy's
   * headroom (Gradient2 uses a constant 4): it scales with the limit, so recovery is not stuck
   * at +0.8 per window, and since gradient >= 0.5 the limit settles at L = L/2 + sqrt(L), i.e.
   * 4, under any slowdown; a constant q would hold it at 2q instead.
   */
  queueSize?: number | ((limit: number) => number);
  /** Windows averaged into the long figure. Default 600 (Gradient2). */
  longWindow?: number;
  /** Windows plainly averaged before the exponential average starts. Default 10 (Gradient2). */
  warmupWindows?: number;
  /** Shortest sampling window. Default 1000 ms (WindowedLimit's minWindowTime). */
  windowMs?: number;
  /** Samples a window needs before it may close. Default 1: TCP connections are few and long. */
  minSamples?: number;
}

/** What one closed window did to the limit. */
export interface LimitUpdate {
  limit: number;
  previous: number;
  /** The gradient applied, or null when the window was app-limited. */
  gradient: number | null;
}

interface KindState {
  long: number;
  longCount: number;
  windowSum: number;
  windowCount: number;
}

/** Gradient2 over windows of latency samples; see the module comment. */
export class AdaptiveLimit {
  private estimate: number;
  readonly minLimit: number;
  readonly maxLimit: number;
  private readonly smoothing: number;
  private readonly tolerance: number;
  private readonly queueSize: (limit: number) => number;
  private readonly longFactor: number;
  private readonly warmupWindows: number;
  private readonly windowMs: number;
  private readonly minSamples: number;
  private readonly kinds = new Map<LatencyKind, KindState>();
  private windowStartMs: number | null = null;
  private windowSamples = 0;
  private windowMaxInflight = 0;
  /** The gradient of the last window that moved the limit (1 before any). */
  lastGradient = 1;
  /** Windows closed so far. */
  windows = 0;

  constructor(options: AdaptiveLimitOptions = {}) {
    this.minLimit = wholeAtLeast('minLimit', options.minLimit ?? 3, 1);
    this.maxLimit = wholeAtLeast('maxLimit', options.maxLimit ?? 1000, this.minLimit);
    const initial = wholeAtLeast('initialLimit', options.initialLimit ?? Math.min(20, this.maxLimit), 1);
    if (initial < this.minLimit || initial > this.maxLimit) {
      throw new RangeError(`initialLimit must be between minLimit (${this.minLimit}) and maxLimit (${this.maxLimit}), got ${initial}`);
    }
    this.estimate = initial;
    this.smoothing = options.smoothing ?? 0.2;
    if (!(this.smoothing > 0 && this.smoothing <= 1)) throw new RangeError(`smoothing must be in (0, 1], got ${this.smoothing}`);
    this.tolerance = options.tolerance ?? 1.5;
    if (!(this.tolerance >= 1 && Number.isFinite(this.tolerance))) throw new RangeError(`tolerance must be a number >= 1, got ${this.tolerance}`);
    const q = options.queueSize ?? Math.sqrt;
    if (typeof q === 'number' && !(q >= 0 && Number.isFinite(q))) throw new RangeError(`queueSize must be a number >= 0, got ${q}`);
    this.queueSize = typeof q === 'number' ? () => q : q;
    this.longFactor = 2 / (wholeAtLeast('longWindow', options.longWindow ?? 600, 1) + 1);
    this.warmupWindows = wholeAtLeast('warmupWindows', options.warmupWindows ?? 10, 0);
    this.windowMs = options.windowMs ?? 1000;
    if (!(this.windowMs >= 0 && Number.isFinite(this.windowMs))) throw new RangeError(`windowMs must be a number >= 0, got ${this.windowMs}`);
    this.minSamples = wholeAtLeast('minSamples', options.minSamples ?? 1, 1);
  }

  /** The current limit, a whole number between minLimit and maxLimit. */
  get limit(): number {
    return Math.floor(this.estimate);
  }

  /** The long-term (baseline) latency of a kind, or null before its first window. */
  longLatencyMs(kind: LatencyKind): number | null {
    const k = this.kinds.get(kind);
    return k && k.longCount > 0 ? k.long : null;
  }

  /**
   * Records one latency sample taken at `nowMs` with `inflight` connections to the target
   * at the time, and closes the window if it is due. Samples of one kind must be comparable:
   * for 'drain', normalise to a fixed amount (e.g. ms per 64 KiB) if windows change size.
   * Returns the update when a window closed, else null.
   */
  sample(kind: LatencyKind, latencyMs: number, inflight: number, nowMs: number): LimitUpdate | null {
    if (!(latencyMs >= 0 && Number.isFinite(latencyMs))) throw new RangeError(`latencyMs must be a number >= 0, got ${latencyMs}`);
    let k = this.kinds.get(kind);
    if (!k) this.kinds.set(kind, (k = { long: 0, longCount: 0, windowSum: 0, windowCount: 0 }));
    k.windowSum += latencyMs;
    k.windowCount++;
    // Windows follow each other back to back while samples keep coming; after a quiet spell
    // (a whole window went by empty) the next sample starts a fresh one.
    if (this.windowSamples === 0 && (this.windowStartMs === null || nowMs - this.windowStartMs >= 2 * this.windowMs)) {
      this.windowStartMs = nowMs;
    }
    this.windowSamples++;
    this.windowMaxInflight = Math.max(this.windowMaxInflight, inflight);
    return this.tick(nowMs);
  }

  /** Closes the window if it is due (call from a timer too, so a quiet spell still closes it). */
  tick(nowMs: number): LimitUpdate | null {
    if (this.windowStartMs === null || nowMs - this.windowStartMs < this.windowMs || this.windowSamples < this.minSamples) {
      return null;
    }
    return this.closeWindow(nowMs);
  }

  private closeWindow(nowMs: number): LimitUpdate {
    const previous = this.limit;
    let gradient = Infinity;
    for (const k of this.kinds.values()) {
      if (k.windowCount === 0) continue;
      const short = k.windowSum / k.windowCount;
      k.windowSum = 0;
      k.windowCount = 0;
      // ExpAvgMeasurement: plain average while warming up, exponential after.
      if (k.longCount < this.warmupWindows) {
        k.long = (k.long * k.longCount + short) / (k.longCount + 1);
        k.longCount++;
      } else {
        k.long = k.long * (1 - this.longFactor) + short * this.longFactor;
        k.longCount = Math.max(k.longCount, 1);
      }
      if (short > 0 && k.long / short > 2) k.long *= 0.9;
      // A zero-latency window (below clock resolution) shows no queueing at all.
      const g = short === 0 ? 1 : clamp((this.tolerance * k.long) / short, 0.5, 1);
      gradient = Math.min(gradient, g);
    }
    const appLimited = this.windowMaxInflight < this.estimate / 2;
    this.windowStartMs = nowMs;
    this.windowSamples = 0;
    this.windowMaxInflight = 0;
    this.windows++;
    if (appLimited) return { limit: previous, previous, gradient: null };

    const next = this.estimate * gradient + this.queueSize(this.limit);
    this.estimate = clamp(this.estimate * (1 - this.smoothing) + next * this.smoothing, this.minLimit, this.maxLimit);
    this.lastGradient = gradient;
    return { limit: this.limit, previous, gradient };
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}

function wholeAtLeast(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be a whole number >= ${min}, got ${value}`);
  return value;
}
