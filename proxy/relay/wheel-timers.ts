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
 * 1/128 of it, between 1 and 500 ms. An entry comes due less than two ticks late, so a timeout
 * fires no earlier than set and at most 1/64 of it (at most 1 s) later.
 */
export function wheelTickMs(timeoutMs: number): number {
  return Math.min(MAX_WHEEL_TICK_MS, Math.max(MIN_WHEEL_TICK_MS, Math.floor(timeoutMs / WHEEL_TICKS_PER_TIMEOUT)));
}

/**
 * A TimerWheel (windowing/timer-wheel.ts) driven by one unref'd timer that ticks while anything
 * is on the wheel and is cleared as soon as nothing is: the idle and half-close timeouts of every
 * connection of a server share it instead of holding a timer each.
 */
export class WheelTimers {
  private readonly wheel: TimerWheel<TimedEntry>;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;

  constructor(readonly tickMs: number) {
    this.wheel = new TimerWheel(tickMs);
  }

  /** Entries waiting. */
  get size(): number {
    return this.wheel.size;
  }

  /** Calls `entry.onDue()` no earlier than `delayMs` from now (and less than two ticks later). */
  after(entry: TimedEntry, delayMs: number): void {
    if (this.wheel.after(entry, delayMs)) this.arm();
  }

  /** From inside `entry.onDue()`: comes due again one `periodMs` after it was due. */
  again(entry: TimedEntry, periodMs: number): void {
    if (this.wheel.afterDue(entry, this.wheel.tick, periodMs)) this.arm();
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
    if (this.timer !== null || this.ticking) return;
    this.timer = setTimeout(this.onTick, this.tickMs);
    // Like the per-connection timers it replaces: a timeout never keeps the process alive.
    this.timer.unref();
  }

  private readonly onTick = (): void => {
    this.timer = null;
    this.ticking = true;
    try {
      for (const entry of this.wheel.advance()) entry.onDue();
    } finally {
      this.ticking = false;
      if (this.wheel.size > 0) this.arm();
    }
  };
}
