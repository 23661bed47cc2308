import type { ConnectionsPage } from '../signals/connections-view.js';
import type { HealthStatus } from '../signals/http-endpoints.js';
import { MetricsRegistry } from '../signals/metrics.js';
import { registerProcessMetrics } from '../signals/process-metrics.js';
import type { RelayServer } from '../relay/relay-server.js';
import type { DemoStrategy } from './scenario.js';

/** What sits between producer and consumer now, as the live page sees it. */
export interface LiveMiddle {
  /** The relay server, or null for the naive relay (no flow control, nothing to list). */
  server: RelayServer | null;
  /** Bytes the middle holds in memory. */
  bufferedBytes(): number;
}

/**
 * The demo's metrics port follows the strategy running now: /metrics, /healthz and
 * /connections answer for its server (connections named after the strategy), so the live page
 * shows each strategy in turn. Between strategies, and for the naive relay, only the process
 * figures and the naive relay's buffer are there.
 */
export class LiveDemo {
  private registry = LiveDemo.processRegistry();
  private current: { strategy: DemoStrategy; server: RelayServer | null } | null = null;

  /** Switches the page to `strategy`'s middle, or to nothing (null). */
  show(strategy: DemoStrategy, middle: LiveMiddle | null): void {
    const registry = LiveDemo.processRegistry();
    if (middle?.server) middle.server.registerMetrics(registry);
    else if (middle) registry.gauge('sluice_bytes_buffered', 'Bytes read but not yet flushed to the other side.', () => middle.bufferedBytes());
    this.registry = registry;
    this.current = middle ? { strategy, server: middle.server } : null;
  }

  /** The /metrics text of the strategy running now. */
  render(): string {
    return this.registry.render();
  }

  /** /healthz of the strategy running now (fine when it has no governor). */
  health(): HealthStatus {
    return this.current?.server?.health() ?? { ok: true };
  }

  /** /connections of the strategy running now. */
  connections(limit: number): ConnectionsPage {
    const current = this.current;
    if (!current?.server) return { total: 0, limit, connections: [] };
    return current.server.connections(limit, current.strategy);
  }

  private static processRegistry(): MetricsRegistry {
    const registry = new MetricsRegistry();
    registerProcessMetrics(registry);
    return registry;
  }
}
