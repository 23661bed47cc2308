import type { RequestListener } from 'node:http';
import type { Address } from '../net/address.js';
import { createManagementServer, type ManagementServerOptions } from './management-server.js';
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
  /** Connections open now (at most the cap). */
  readonly connections: number;
  close(): Promise<void>;
}

/** Limits of the metrics port (see MANAGEMENT_DEFAULTS) and where its notices go. */
export type HttpEndpointsOptions = Partial<ManagementServerOptions>;

/**
 * Serves `GET /metrics` (Prometheus text format) and `GET /healthz` (200, or 503 with
 * Retry-After while `health()` says the instance is under pressure), on a management server:
 * capped connections and short timeouts, so slow peers cannot take the relay's descriptors.
 */
export async function startHttpEndpoints(
  listen: Address,
  registry: MetricsRegistry,
  health: () => HealthStatus = () => ({ ok: true }),
  options: HttpEndpointsOptions = {},
): Promise<HttpEndpoints> {
  const answer: RequestListener = (req, res) => {
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
  };
  const management = createManagementServer(answer, { name: 'metrics port', ...options });
  const address = await management.listen(listen);
  return {
    address,
    get connections() {
      return management.cap.size;
    },
    close: () => management.close(),
  };
}
