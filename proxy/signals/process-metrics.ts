import { processAcceptErrors, type AcceptErrorCounts } from '../net/accept-guard.js';
import type { MetricsRegistry } from './metrics.js';

/** Adds the process's own resident memory and heap, and its refused and failed accepts, to a registry (Prometheus conventions). */
export function registerProcessMetrics(registry: MetricsRegistry): void {
  registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
  registry.gauge('nodejs_heap_used_bytes', 'V8 heap in use, bytes.', () => process.memoryUsage().heapUsed);
  registerAcceptErrors(registry);
}

/** Adds `sluice_accept_errors_total{reason}`: connections refused or lost at accept, over every listener of the process. */
export function registerAcceptErrors(registry: MetricsRegistry, counts: AcceptErrorCounts = processAcceptErrors): void {
  registry.counter('sluice_accept_errors_total', 'Connections refused or lost at accept, by reason (emfile, enfile, other, fd-reserve, management-full, management-evicted).', () =>
    counts.entries().map(([reason, value]) => ({ labels: { reason }, value })),
  );
}
