import v8 from 'node:v8';

/**
 * Runs one full, compacting GC once a burst of arriving connections is over, as the block pool
 * does after a burst of reads (block-pool.ts, full-gc.ts). Thousands of connections accepted at
 * once leave behind what lived only while each was being set up (the accepted socket replaced by
 * the adopted one, the connect to the target, the relay's construction): with a small young
 * generation (young-generation.ts) much of it is promoted before it dies, and the old-space pages
 * it filled stay committed, half empty, until V8's memory reducer runs, tens of seconds later
 * (some 14 MB at 10 000 idle connections). A full GC right after the burst gives them back then.
 *
 *   arrived() --(first since idle)--> tick every quietMs: arrivals meanwhile? --yes--> tick again
 *                                         | no: the burst is over
 *                                         v
 *                      heap grew by growthBytes or more since the last collection? --> collect()
 *
 * Cheap on the accept path (a counter; a timer only while connections keep arriving) and never
 * during steady churn (it waits for a quiet period). The heap is read only when a burst ends.
 */
export interface ArrivalBurstOptions {
  /** A burst is over after this long without an arrival (default 50 ms). */
  quietMs?: number;
  /** Growth of the heap since the last collection that makes a burst worth one (default 16 MiB). */
  growthBytes?: number;
  /** The heap's committed size now (default V8's total_heap_size). */
  heapBytes?: () => number;
}

/** See the module comment. */
export class ArrivalBurstCollector {
  /** Collections run. */
  collections = 0;
  private arrivals = 0;
  private timer: NodeJS.Timeout | null = null;
  private heapAfterLast: number;
  private readonly quietMs: number;
  private readonly growthBytes: number;
  private readonly heapBytes: () => number;

  constructor(
    private readonly collect: () => void,
    options: ArrivalBurstOptions = {},
  ) {
    this.quietMs = options.quietMs ?? 50;
    this.growthBytes = options.growthBytes ?? 16 * 1024 * 1024;
    this.heapBytes = options.heapBytes ?? (() => v8.getHeapStatistics().total_heap_size);
    this.heapAfterLast = this.heapBytes();
  }

  /** A connection arrived. */
  arrived(): void {
    this.arrivals++;
    if (this.timer) return;
    this.timer = setInterval(this.onTick, this.quietMs);
    this.timer.unref();
  }

  /** Stops the timer (arrivals re-arm it). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private readonly onTick = (): void => {
    if (this.arrivals > 0) {
      this.arrivals = 0;
      return;
    }
    this.close();
    // The heap may also have shrunk meanwhile (V8 collected by itself): growth counts from the lowest since.
    const heap = this.heapBytes();
    if (heap < this.heapAfterLast) this.heapAfterLast = heap;
    if (heap - this.heapAfterLast < this.growthBytes) return;
    this.collect();
    this.collections++;
    this.heapAfterLast = this.heapBytes();
  };
}
