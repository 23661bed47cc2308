import { MAX_TIMER_MS } from '../../../windowing/timer-limit.js';

/**
 * A one-shot timer for any delay a toxic accepts (up to Number.MAX_SAFE_INTEGER ms): a delay past
 * MAX_TIMER_MS (past which setTimeout fires after 1 ms with a TimeoutOverflowWarning; toxic times are
 * toxiproxy's int64 fields) waits in steps of at most that, so it neither fires early nor spins.
 */
export class LongTimeout {
  private timer: NodeJS.Timeout | null = null;
  private leftMs = 0;

  constructor(private readonly onTimeout: () => void) {}

  /** True from start() until it fires or is stopped. */
  get armed(): boolean {
    return this.timer !== null;
  }

  /** Arms it to fire `delayMs` from now (a running wait is replaced). */
  start(delayMs: number): void {
    this.stop();
    this.leftMs = Math.max(0, delayMs);
    this.step();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private step(): void {
    const waitMs = Math.min(this.leftMs, MAX_TIMER_MS);
    this.leftMs -= waitMs;
    this.timer = setTimeout(this.onStep, waitMs);
  }

  private readonly onStep = (): void => {
    if (this.leftMs > 0) return this.step();
    this.timer = null;
    this.onTimeout();
  };
}
