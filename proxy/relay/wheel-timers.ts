import { TimerWheel, type WheelEntry } from '../../windowing/index.js';

/** Something that comes due on a wheel. */
export interface TimedEntry extends WheelEntry {
  onDue(): void;
}

/** The finest tick a wheel gets (a timeout of 128 ms or less ticks every millisecond). */
export const MIN_WHEEL_TICK_MS = 1;
/** The coarsest: connections' timeouts of minutes and hours tick twice a second. */
export const MAX_WHEEL_TICK_MS = 500;
/** A wheel for a timeout ticks 128 times per timeout (at most every MAX_WHEEL_TICK_MS). */
export const WHEEL_TICKS_PER_TIMEOUT = 128;

/**
 * The tick for timeouts of `timeoutMs` (the shortest of them, when several share a wheel):
 * 1/128 of it, between 1 and 500 ms. A timeout fires no earlier than set and less than a tick
 * later (plus whatever else holds up the event loop): under 1/128 of it, under 0.5 s.
 */
export function wheelTickMs(timeoutMs: number): number {
  return Math.min(MAX_WHEEL_TICK_MS, Math.max(MIN_WHEEL_TICK_MS, Math.floor(timeoutMs / WHEEL_TICKS_PER_TIMEOUT)));
}

/**
 * A TimerWheel (windowing/timer-wheel.ts) on a clock, driven by one unref'd timer that wakes at
 * each tick boundary while anything is on the wheel and is cleared as soon as nothing is: the
 * idle and half-close timeouts of every connection of a server share it instead of holding a
 * timer each. Due times are read on `now` when the timer wakes, so a late wake-up (a busy event
 * loop) hands out everything due by then, never early and without drift.
 */
export class WheelTimers {
  private readonly wheel: TimerWheel<TimedEntry>;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;

  constructor(
    readonly tickMs: number,
    /** The clock, in ms (default performance.now); the same one the caller's due times are on. */
    readonly now: () => number = () => performance.now(),
  ) {
    this.wheel = new TimerWheel(tickMs);
  }

  /** Entries waiting. */
  get size(): number {
    return this.wheel.size;
  }

  /** Calls `entry.onDue()` once `now()` reaches `dueMs` (less than a tick later). */
  at(entry: TimedEntry, dueMs: number): void {
    this.wheel.at(entry, dueMs);
    this.arm();
  }

  /** Takes `entry` off the wheel; the timer stops once nothing is left on it. */
  cancel(entry: TimedEntry): void {
    this.wheel.cancel(entry);
    if (this.wheel.size === 0 && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private arm(): void {
    if (this.timer !== null || this.ticking || this.wheel.size === 0) return;
    const now = this.now();
    this.timer = setTimeout(this.onTick, Math.max(1, Math.ceil(this.wheel.nextTickMs(now) - now)));
    // Like the per-connection timers it replaces: a timeout never keeps the process alive.
    this.timer.unref();
  }

  private readonly onTick = (): void => {
    this.timer = null;
    this.ticking = true;
    try {
      for (const entry of this.wheel.due(this.now())) entry.onDue();
    } finally {
      this.ticking = false;
      this.arm();
    }
  };
}
