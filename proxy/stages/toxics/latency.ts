import { TimedQueueStage } from './timed-queue-stage.js';

/**
 * Bytes a latency toxic may hold in flight per connection and direction before it holds the
 * producer: at 100 ms that still carries 80 MiB/s, more than loopback pushes through one connection.
 * It shrinks as the memory budget fills, as windows do (StageContext.budgetShare).
 */
export const LATENCY_BUDGET_BYTES = 8 * 1024 * 1024;

/** Options of a latency toxic (toxiproxy's `latency`, `jitter`, in milliseconds). */
export interface LatencyOptions {
  latencyMs: number;
  jitterMs: number;
  /** Uniform in [0, 1); Math.random by default. */
  random?: () => number;
  budgetBytes?: number;
}

/**
 * `latency`: each piece of data goes on `latency` ms (± `jitter`) after it arrived, in order (a
 * piece never overtakes the one before it, as in toxiproxy). Several add up. Unlike toxiproxy's,
 * what is in flight is bounded (LATENCY_BUDGET_BYTES, less as the memory budget fills): past it
 * the producer is held.
 */
export class LatencyStage extends TimedQueueStage {
  private readonly random: () => number;
  private readonly budgetBytes: number;

  constructor(private readonly options: LatencyOptions) {
    super();
    this.random = options.random ?? Math.random;
    this.budgetBytes = options.budgetBytes ?? LATENCY_BUDGET_BYTES;
  }

  protected schedule(chunk: Buffer, nowMs: number): void {
    this.enqueue(chunk, nowMs + this.delayMs());
  }

  // As the memory budget fills, the allowance shrinks with the windows (down to 16 KiB): a thousand
  // connections with latency cannot hold 8 MiB each past --memory-budget.
  protected limitBytes(): number {
    return this.context.budgetShare(this.budgetBytes);
  }

  // An update re-times what is in flight from when it arrived, as toxiproxy's chunk timestamps do.
  protected override retimeFrom(arrivalMs: number): number {
    return arrivalMs;
  }

  // toxiproxy: latency + a whole number of ms uniform in [-jitter, jitter).
  private delayMs(): number {
    const { latencyMs, jitterMs } = this.options;
    if (jitterMs <= 0) return latencyMs;
    return latencyMs + Math.floor(this.random() * 2 * jitterMs) - jitterMs;
  }
}
