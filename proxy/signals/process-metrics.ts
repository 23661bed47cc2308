import type { MetricsRegistry } from './metrics.js';

/** Adds the process's own resident memory and heap to a registry (Prometheus conventions). */
export function registerProcessMetrics(registry: MetricsRegistry): void {
  registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
  registry.gauge('nodejs_heap_used_bytes', 'V8 heap in use, bytes.', () => process.memoryUsage().heapUsed);
}
