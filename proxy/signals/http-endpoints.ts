import { createServer, type Server } from 'node:http';
import type { Address } from '../net/address.js';
import { listenOn } from '../net/listen.js';
import type { MetricsRegistry } from './metrics.js';

/** What /healthz answers: fine (200) or shedding load (503 with Retry-After). */
export interface HealthStatus {
  ok: boolean;
  /** Seconds a client should wait before asking again; sent with 503. */
  retryAfterS?: number;
  /** One line of detail for humans. */
  detail?: string;
}

/** A running metrics/health HTTP listener. */
export interface HttpEndpoints {
  address: Address;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text format) and `GET /healthz` (200, or 503 with
 * Retry-After while `health()` says the instance is under pressure).
 */
export async function startHttpEndpoints(
  listen: Address,
  registry: MetricsRegistry,
  health: () => HealthStatus = () => ({ ok: true }),
): Promise<HttpEndpoints> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(registry.render());
      return;
    }
    if (path === '/healthz') {
      const status = health();
      const body = `${status.ok ? 'ok' : 'overloaded'}${status.detail ? ` ${status.detail}` : ''}\n`;
      const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
      if (!status.ok) headers['retry-after'] = String(Math.max(1, Math.ceil(status.retryAfterS ?? 1)));
      res.writeHead(status.ok ? 200 : 503, headers).end(body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /metrics or /healthz\n');
  });
  // Scrapers keep connections alive; don't let one hold shutdown hostage.
  server.keepAliveTimeout = 5_000;
  const address = await listenOn(server, listen);
  return {
    address,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
