import { AdaptiveLimit, type LatencyKind } from '../../windowing/adaptive-limit.js';
import { computePressure, DEFAULT_EVENT_LOOP_DELAY_TARGET_MS, HeldBackWindow, PressureSignals, type PressureReading } from '../../windowing/pressure.js';
import { DEFAULT_MEMORY_BUDGET_BYTES, MemoryBudget } from '../../windowing/memory-budget.js';
import { sharedLoopDelay, type SharedLoopDelay } from './event-loop-monitor.js';
import type { HealthStatus } from './http-endpoints.js';
import type { MetricsRegistry } from './metrics.js';

/**
 * The adaptive half of an instance: every `sampleEveryMs` it reads the instance's state, turns
 * it into one pressure figure (windowing/pressure.ts), and moves the signals that depend on it:
 * /healthz, the HAProxy agent reply, the adaptive concurrency limit. The memory budget is
 * charged by the relays themselves (read blocks in use, each connection, what stages hold) and read here.
 *
 *   sampler (100 ms) --> held-back share, buffered/budget, loop delay, in-use/limit
 *        |                          |
 *        v                          v
 *   AdaptiveLimit.tick ---> setLimit      computePressure --> PressureSignals --> /healthz, agent
 */

/** What the governor reads from the instance it governs. */
export interface GovernedInstance {
  /** Connections relaying now, and how many of them have a direction held back. */
  relayingConnections(): { total: number; heldBack: number };
  /** Connections holding a slot toward the target. */
  activeConnections(): number;
  /** Applies a new concurrency limit (admitting waiters if it rose). */
  setConcurrencyLimit(limit: number): void;
}

/** Options for the adaptive behaviour; the CLI fills them from flags. */
export interface GovernorOptions {
  /** Cap on all buffered bytes of the process (default 256 MiB). */
  memoryBudgetBytes?: number;
  /** Adapt the concurrency limit toward the target to its measured latency. */
  adaptiveConcurrency?: boolean;
  /** Upper bound for the adaptive limit (e.g. --max-conns); default 1000. */
  maxConcurrency?: number;
  /** /healthz turns 503 from this pressure (default 0.8). */
  shedAt?: number;
  sampleEveryMs?: number;
  now?: () => number;
}

/** Samples the instance, computes pressure, drives the signals; see the module comment. */
export class Governor {
  readonly budget: MemoryBudget;
  readonly signals: PressureSignals;
  readonly limit: AdaptiveLimit | null;
  private readonly heldBack = new HeldBackWindow();
  private readonly loop: SharedLoopDelay;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private reading: PressureReading | null = null;
  private loopDelayMs = 0;

  constructor(
    private readonly instance: GovernedInstance,
    options: GovernorOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.budget = new MemoryBudget({ budgetBytes: options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES });
    this.signals = new PressureSignals(options.shedAt !== undefined ? { shedAt: options.shedAt } : {});
    this.limit = options.adaptiveConcurrency
      ? new AdaptiveLimit(options.maxConcurrency ? { maxLimit: options.maxConcurrency, initialLimit: Math.min(20, options.maxConcurrency) } : {})
      : null;
    const every = options.sampleEveryMs ?? 100;
    // Read afresh by whichever governor of the process samples first in each half period.
    this.loop = sharedLoopDelay(every / 2, this.now);
    this.timer = setInterval(() => this.sample(), every);
    this.timer.unref();
  }

  /** False while the memory budget is saturated: new connections are turned away. */
  get accepting(): boolean {
    return this.budget.accepting;
  }

  /** The current concurrency limit (0 = none). */
  get concurrencyLimit(): number {
    return this.limit ? this.limit.limit : 0;
  }

  /** The last pressure figure. */
  get pressure(): number {
    return this.signals.pressure;
  }

  /** Feeds a latency sample (connect time, or time to drain a window) to the adaptive limit. */
  latency(kind: LatencyKind, latencyMs: number): void {
    if (!this.limit) return;
    const update = this.limit.sample(kind, latencyMs, this.instance.activeConnections(), this.now());
    if (update) this.instance.setConcurrencyLimit(update.limit);
  }

  /** Reads the instance and moves the signals; runs on the timer, callable directly in tests. */
  sample(): PressureReading {
    const now = this.now();
    const { total, heldBack } = this.instance.relayingConnections();
    this.heldBack.record(now, heldBack, total);
    this.loopDelayMs = this.loop.read().p99Ms;
    if (this.limit) {
      const update = this.limit.tick(now);
      if (update) this.instance.setConcurrencyLimit(update.limit);
    }
    this.reading = computePressure({
      heldBackShare: this.heldBack.share(now),
      bufferedBytes: this.budget.usedBytes,
      memoryBudgetBytes: this.budget.budgetBytes,
      eventLoopDelayMs: this.loopDelayMs,
      eventLoopDelayTargetMs: DEFAULT_EVENT_LOOP_DELAY_TARGET_MS,
      concurrencyInUse: this.instance.activeConnections(),
      concurrencyLimit: this.concurrencyLimit,
    });
    this.signals.update(this.reading);
    return this.reading;
  }

  /** What /healthz answers now. */
  health(): HealthStatus {
    return this.signals.health();
  }

  /** The HAProxy agent-check line now. */
  agentReply(): string {
    return this.signals.agentReply();
  }

  /** Adds pressure, budget and limit metrics. */
  registerMetrics(registry: MetricsRegistry): void {
    registry.gauge('sluice_pressure', 'Instance pressure 0..1: the largest of its components (see README).', () => this.signals.pressure, 'max');
    registry.gauge(
      'sluice_pressure_component',
      'Each pressure component 0..1.',
      () => (this.reading ? Object.entries(this.reading.components).map(([component, value]) => ({ labels: { component }, value })) : []),
      'max',
    );
    registry.gauge('sluice_memory_budget_bytes', 'The cap on all buffered bytes (--memory-budget).', () => this.budget.budgetBytes);
    registry.gauge('sluice_memory_used_bytes', 'Buffered bytes charged to the memory budget.', () => this.budget.usedBytes);
    registry.gauge('sluice_accepting', '1 while new connections are accepted, 0 while the memory budget is saturated.', () => (this.budget.accepting ? 1 : 0), 'min');
    registry.gauge('sluice_event_loop_delay_seconds', 'Event-loop delay, p99 over the last sample interval.', () => this.loopDelayMs / 1000, 'max');
    registry.gauge('sluice_healthy', '1 while /healthz answers 200, 0 while it sheds load (503).', () => (this.signals.shedding ? 0 : 1), 'min');
    if (this.limit) registry.gauge('sluice_concurrency_limit', 'The adaptive limit on connections to the target.', () => this.limit!.limit);
  }

  /** Stops sampling. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.loop.release();
  }
}
