/**
 * A coarse timer wheel as pure bookkeeping: time is counted in ticks the caller reports (one
 * advance() per tick), entries sit in the bucket of the tick they come due at, and advancing
 * hands back the entries that came due. One shared timer ticking for thousands of connections
 * replaces a timer per connection (idle and half-close timeouts of minutes and hours do not need
 * millisecond accuracy).
 *
 * Accuracy. A tick in progress has run for an unknown part of it, so an entry scheduled while the
 * wheel runs is placed one tick further than its delay needs: it comes due no earlier than asked
 * and less than two ticks late. On an empty wheel the caller starts its tick when it schedules
 * (see `after`), so the first entry is less than one tick late. An entry rescheduled from its own
 * due tick (`afterDue`) keeps the period exact in ticks: less than one more tick late per period.
 */

/** Where an entry sits on the wheel; the entry carries it so cancelling finds its bucket at once. */
export interface WheelEntry {
  /** The tick it comes due at; -1 while not on a wheel. */
  wheelTick: number;
}

/** Entries by the tick they come due at; see the module comment. */
export class TimerWheel<E extends WheelEntry> {
  private current = 0;
  private readonly buckets = new Map<number, Set<E>>();
  private count = 0;

  /** Throws RangeError unless `tickMs` is a positive number. */
  constructor(readonly tickMs: number) {
    if (!(tickMs > 0) || !Number.isFinite(tickMs)) throw new RangeError(`tickMs must be a positive number, got ${tickMs}`);
  }

  /** Entries on the wheel. */
  get size(): number {
    return this.count;
  }

  /** Ticks advanced so far. */
  get tick(): number {
    return this.current;
  }

  /**
   * Puts `entry` on the wheel (off wherever it was) to come due no earlier than `delayMs` from
   * now. Returns true when the wheel was empty: the caller starts its tick now.
   */
  after(entry: E, delayMs: number): boolean {
    // Counted before the entry leaves its old place: a wheel holding only this entry is running.
    const wasEmpty = this.count === 0;
    this.cancel(entry);
    const ticks = Math.max(1, Math.ceil(Math.max(0, delayMs) / this.tickMs) + (wasEmpty ? 0 : 1));
    this.place(entry, this.current + ticks);
    return wasEmpty;
  }

  /**
   * Puts `entry`, which came due at `dueTick` (this tick, when called as it comes due), back on
   * the wheel one `periodMs` after that tick (in whole ticks, rounded up), so a period repeated
   * does not add a tick's lateness each time. Returns true when the wheel was empty.
   */
  afterDue(entry: E, dueTick: number, periodMs: number): boolean {
    const wasEmpty = this.count === 0;
    this.cancel(entry);
    this.place(entry, Math.max(this.current + 1, dueTick + Math.max(1, Math.ceil(periodMs / this.tickMs))));
    return wasEmpty;
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

  /** One tick has passed: the entries due now (at `tick`), taken off the wheel. */
  advance(): E[] {
    this.current++;
    const bucket = this.buckets.get(this.current);
    if (!bucket) return [];
    this.buckets.delete(this.current);
    this.count -= bucket.size;
    const due = [...bucket];
    for (const entry of due) entry.wheelTick = -1;
    return due;
  }

  private place(entry: E, tick: number): void {
    let bucket = this.buckets.get(tick);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(tick, bucket);
    }
    bucket.add(entry);
    entry.wheelTick = tick;
    this.count++;
  }
}
