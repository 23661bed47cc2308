/**
 * A coarse timer wheel as pure bookkeeping: an entry due at some time sits in the bucket of the
 * first tick boundary at or after it, and `due(nowMs)` hands back every entry whose boundary has
 * passed. One shared timer waking once a tick serves thousands of connections' idle and
 * half-close timeouts (minutes and hours that need no millisecond accuracy) instead of a timer
 * each. Times are the caller's clock, in milliseconds; nothing here reads one.
 *
 * Accuracy: an entry never comes due before its time, and with `due` called at every tick
 * boundary (or soon after) it comes due less than one tick after its time plus that delay.
 */

/** Where an entry sits on the wheel; the entry carries it so cancelling finds its bucket at once. */
export interface WheelEntry {
  /** The tick (boundary number) it comes due at; -1 while not on a wheel. */
  wheelTick: number;
}

/** Scanning tick by tick up to this many; past it (a long sleep) the buckets are scanned instead. */
const STEP_SCAN_LIMIT = 64;

/** Entries by the tick boundary they come due at; see the module comment. */
export class TimerWheel<E extends WheelEntry> {
  private readonly buckets = new Map<number, Set<E>>();
  private count = 0;
  // Every tick up to this one has been handed out.
  private doneTick = -Infinity;

  /** Throws RangeError unless `tickMs` is a positive number. */
  constructor(readonly tickMs: number) {
    if (!(tickMs > 0) || !Number.isFinite(tickMs)) throw new RangeError(`tickMs must be a positive number, got ${tickMs}`);
  }

  /** Entries on the wheel. */
  get size(): number {
    return this.count;
  }

  /** Puts `entry` on the wheel (off wherever it was) to come due at `dueMs`. */
  at(entry: E, dueMs: number): void {
    this.cancel(entry);
    // A tick already handed out is never scanned again: its entries go to the next one.
    const tick = Math.max(Math.ceil(dueMs / this.tickMs), this.doneTick + 1);
    let bucket = this.buckets.get(tick);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(tick, bucket);
    }
    bucket.add(entry);
    entry.wheelTick = tick;
    this.count++;
  }

  /** Takes `entry` off the wheel; nothing when it is not on it. */
  cancel(entry: E): void {
    if (entry.wheelTick < 0) return;
    const bucket = this.buckets.get(entry.wheelTick);
    if (bucket?.delete(entry)) {
      this.count--;
      if (bucket.size === 0) this.buckets.delete(entry.wheelTick);
    }
    entry.wheelTick = -1;
  }

  /** The entries due by `nowMs` (their tick boundary has passed), taken off the wheel, earliest first. */
  due(nowMs: number): E[] {
    const nowTick = Math.floor(nowMs / this.tickMs);
    const out: E[] = [];
    if (nowTick <= this.doneTick) return out;
    if (this.count > 0) {
      const ticks: number[] = [];
      if (nowTick - this.doneTick <= STEP_SCAN_LIMIT) {
        for (let t = this.doneTick + 1; t <= nowTick; t++) if (this.buckets.has(t)) ticks.push(t);
      } else {
        for (const t of this.buckets.keys()) if (t <= nowTick) ticks.push(t);
        ticks.sort((a, b) => a - b);
      }
      for (const t of ticks) {
        const bucket = this.buckets.get(t)!;
        this.buckets.delete(t);
        this.count -= bucket.size;
        for (const entry of bucket) {
          entry.wheelTick = -1;
          out.push(entry);
        }
      }
    }
    this.doneTick = nowTick;
    return out;
  }

  /** When the next tick boundary after `nowMs` is. */
  nextTickMs(nowMs: number): number {
    return (Math.floor(nowMs / this.tickMs) + 1) * this.tickMs;
  }
}
