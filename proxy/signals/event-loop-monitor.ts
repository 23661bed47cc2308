import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Event-loop delay over one interval, in milliseconds. */
export interface EventLoopDelay {
  /** 99th percentile of the delays measured in the interval. */
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** How many delays were measured (0: nothing to say, all figures 0). */
  samples: number;
}

/** The part of Node's IntervalHistogram this monitor uses (a seam for tests). */
export interface DelayHistogram {
  enable(): boolean;
  disable(): boolean;
  reset(): void;
  percentile(p: number): number;
  readonly max: number;
  readonly mean: number;
  readonly count: number;
}

/** Options for an event-loop monitor. */
export interface EventLoopMonitorOptions {
  /** Sampling period in ms (Node's default and ours: 10). */
  resolutionMs?: number;
  /** Makes the histogram; default `monitorEventLoopDelay`. */
  histogram?: (resolutionMs: number) => DelayHistogram;
}

/**
 * How late the event loop runs, for the pressure figure: a thin wrapper over
 * `perf_hooks.monitorEventLoopDelay` that reports each interval on its own (read() returns the
 * figures since the previous read and starts a new interval) and can be closed.
 *
 * Node's histogram records the time between two ticks of a `resolutionMs` timer, so a loop
 * that is on time records about `resolutionMs`; the delay reported here is that time minus
 * `resolutionMs`. Known blind spot: reset() makes Node forget the previous tick, so the first
 * gap after each read is not recorded; a single stall that begins right after a read is
 * missed, a sustained one is not. The sampling timer is unref'd by Node and keeps no process
 * alive.
 */
export class EventLoopMonitor {
  readonly resolutionMs: number;
  private readonly histogram: DelayHistogram;
  private open = true;

  constructor(options: EventLoopMonitorOptions = {}) {
    this.resolutionMs = options.resolutionMs ?? 10;
    if (!Number.isSafeInteger(this.resolutionMs) || this.resolutionMs < 1) {
      throw new RangeError(`resolutionMs must be a whole number >= 1, got ${this.resolutionMs}`);
    }
    const make = options.histogram ?? ((resolution: number) => monitorEventLoopDelay({ resolution }));
    this.histogram = make(this.resolutionMs);
    this.histogram.enable();
  }

  /** Delays measured since the last read (or the start), not yet reset. */
  get sampleCount(): number {
    return this.open ? this.histogram.count : 0;
  }

  /** True until close(). */
  get isOpen(): boolean {
    return this.open;
  }

  /** The figures since the last read, then starts a new interval. After close(): zeros. */
  read(): EventLoopDelay {
    if (!this.open || this.histogram.count === 0) return { p99Ms: 0, maxMs: 0, meanMs: 0, samples: 0 };
    const h = this.histogram;
    const result: EventLoopDelay = {
      p99Ms: this.delayMs(h.percentile(99)),
      maxMs: this.delayMs(h.max),
      meanMs: this.delayMs(h.mean),
      samples: h.count,
    };
    h.reset();
    return result;
  }

  /** Stops sampling; idempotent. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.histogram.disable();
  }

  // Nanoseconds between ticks -> milliseconds late.
  private delayMs(tickNs: number): number {
    return Math.max(0, tickNs / 1e6 - this.resolutionMs);
  }
}

/** A reader of the process's shared monitor; release() when done with it. */
export interface SharedLoopDelay {
  /** The delay over the last interval, read afresh at most once per `minIntervalMs` for all readers. */
  read(): EventLoopDelay;
  release(): void;
}

/**
 * The event loop is one per process however many servers run in it, and each monitor is a 10 ms
 * timer: `serve` with 100 idle proxies, a monitor each, spent 15% of a core waking up. One monitor
 * for the process, counted by its readers (closed when the last lets go); a read within
 * `minIntervalMs` of the previous one gets the same figures, so readers that sample on their own
 * timers, each every 100 ms, all see the interval one of them closed.
 */
export function sharedLoopDelay(
  minIntervalMs: number,
  now: () => number = () => performance.now(),
  /** Makes the monitor when there is none yet (a seam for tests). */
  make: () => EventLoopMonitor = () => new EventLoopMonitor(),
): SharedLoopDelay {
  shared ??= { monitor: make(), readers: 0, readAtMs: -Infinity, last: { p99Ms: 0, maxMs: 0, meanMs: 0, samples: 0 } };
  const s = shared;
  s.readers++;
  let released = false;
  return {
    read() {
      if (released) return { p99Ms: 0, maxMs: 0, meanMs: 0, samples: 0 };
      const t = now();
      // Either way: readers on different clocks (tests' fake ones) must not freeze the figures.
      if (Math.abs(t - s.readAtMs) >= minIntervalMs) {
        s.readAtMs = t;
        s.last = s.monitor.read();
      }
      return s.last;
    },
    release() {
      if (released) return;
      released = true;
      if (--s.readers > 0) return;
      s.monitor.close();
      if (shared === s) shared = null;
    },
  };
}

let shared: { monitor: EventLoopMonitor; readers: number; readAtMs: number; last: EventLoopDelay } | null = null;

/** Readers holding the process's shared monitor now (0: none is running); what a leak test reads. */
export function sharedLoopDelayReaders(): number {
  return shared?.readers ?? 0;
}
