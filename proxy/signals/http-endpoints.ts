import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Address } from '../net/address.js';
import { limitFromQuery, type ConnectionsSource } from './connections-view.js';
import { createManagementServer, type ManagementServerOptions } from './management-server.js';
import type { MetricsRegistry } from './metrics.js';

/** What /healthz answers: fine (200) or shedding load (503 with Retry-After). */
export interface HealthStatus {
  ok: boolean;
  /** Seconds a client should wait before asking again; sent with 503. */
  retryAfterS?: number;
  /** One line of detail for humans. */
  detail?: string;
  /** The body's first word when not ok: why it is unavailable (default `overloaded`). */
  reason?: string;
}

/** A running metrics/health HTTP listener. */
export interface HttpEndpoints {
  address: Address;
  /** Connections open now (at most the cap). */
  readonly connections: number;
  close(): Promise<void>;
}

/** Limits of the metrics port (see MANAGEMENT_DEFAULTS), where its notices go, and where `/connections` comes from. */
export interface HttpEndpointsOptions extends Partial<ManagementServerOptions> {
  /** The open connections for `GET /connections` (and the live page's table); without it, 404. */
  connections?: ConnectionsSource;
  /** One named proxy's health for `GET /healthz?proxy=NAME` (null: no such proxy, 404); without it, every name is unknown. */
  proxyHealth?: (name: string) => HealthStatus | null;
}

/** What renders `/metrics`: a MetricsRegistry, or anything that renders the same text. */
export type MetricsText = Pick<MetricsRegistry, 'render'>;

/**
 * The path and query of a request target: origin form (`/metrics?x`) or absolute form
 * (`http://host/metrics`, which RFC 9112 3.2.2 has servers accept). The query is everything after
 * the first `?`, further ones included.
 */
export function requestTarget(target: string): { path: string; query: string } {
  let rest = target;
  const scheme = /^https?:\/\/[^/?#]*/i.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length) || '/';
  const mark = rest.indexOf('?');
  return mark === -1 ? { path: rest, query: '' } : { path: rest.slice(0, mark), query: rest.slice(mark + 1) };
}

/**
 * Serves, on a management server (capped connections and short timeouts, so slow peers cannot
 * take the relay's descriptors), and only to GET and HEAD:
 *
 *   /metrics       Prometheus text format
 *   /healthz       200, or 503 with Retry-After while `health()` says the instance is under pressure;
 *                  `?proxy=NAME` asks the same of one proxy (`proxyHealth`), 404 for a name it does not know
 *   /connections   the open connections as JSON (`?limit=`, busiest first; see connections-view.ts)
 *   /              the live page (and its live.js, live.css, favicon.svg), which polls the three above
 */
export async function startHttpEndpoints(
  listen: Address,
  registry: MetricsText,
  health: () => HealthStatus = () => ({ ok: true }),
  options: HttpEndpointsOptions = {},
): Promise<HttpEndpoints> {
  const { connections, proxyHealth, ...serverOptions } = options;
  const answer: RequestListener = (req, res) => {
    const { path, query } = requestTarget(req.url ?? '/');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/connections') {
      if (!connections) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('no connections here: this port serves /metrics and /healthz\n');
        return;
      }
      answerConnections(req, res, connections, limitFromQuery(query));
      return;
    }
    // What the metrics and health read is the caller's code as well as ours (a library user's gauge):
    // a read that throws answers 500 with its message, never an uncaught exception in this handler.
    if (path === '/metrics') {
      const body = attempt(() => registry.render());
      if (body.ok) res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body.value);
      else answerFailure(res, body.error);
      return;
    }
    if (path === '/healthz') {
      const proxy = new URLSearchParams(query).get('proxy');
      const status = attempt(() => (proxy === null ? health() : (proxyHealth?.(proxy) ?? null)));
      if (!status.ok) answerFailure(res, status.error);
      else if (status.value) answerHealth(res, status.value);
      else res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(`no proxy named ${JSON.stringify(proxy)}\n`);
      return;
    }
    answerPageFile(req, res, path);
  };
  const management = createManagementServer(answer, { name: 'metrics port', ...serverOptions });
  const address = await management.listen(listen);
  return {
    address,
    get connections() {
      return management.cap.size;
    },
    close: () => management.close(),
  };
}

// The page's files are loaded the first time someone asks for one: a process nobody watches does
// not read them, and starting needs fewer files open at once (Node loads a module graph in
// parallel, which under a low `ulimit -n` is what runs out first).
let pageFiles: Promise<typeof import('./live-page/index.js')> | null = null;

/** One of the live page's files (ETag, 304 while the browser has it), or 404 for any other path. */
function answerPageFile(req: IncomingMessage, res: ServerResponse, path: string): void {
  pageFiles ??= import('./live-page/index.js').catch((err: unknown) => {
    pageFiles = null; // out of descriptors just then, say: the next request tries again
    throw err;
  });
  pageFiles
    .then(({ LIVE_PAGE_ASSETS, LIVE_PAGE_HEADERS }) => {
      const asset = LIVE_PAGE_ASSETS.get(path);
      if (!asset) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /, /connections, /metrics or /healthz\n');
        return;
      }
      const headers = { ...LIVE_PAGE_HEADERS, 'content-type': asset.contentType, etag: asset.etag };
      if (req.headers['if-none-match'] === asset.etag) res.writeHead(304, headers).end();
      else res.writeHead(200, headers).end(asset.body);
    })
    .catch(() => req.socket.destroy());
}

/** `ok DETAIL` with 200, or `overloaded DETAIL` (or the status's reason) with 503 and Retry-After. */
function answerHealth(res: ServerResponse, status: HealthStatus): void {
  const body = `${status.ok ? 'ok' : (status.reason ?? 'overloaded')}${status.detail ? ` ${status.detail}` : ''}\n`;
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
  if (!status.ok) headers['retry-after'] = String(Math.max(1, Math.ceil(status.retryAfterS ?? 1)));
  res.writeHead(status.ok ? 200 : 503, headers).end(body);
}

function attempt<T>(read: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: read() };
  } catch (error) {
    return { ok: false, error };
  }
}

function answerFailure(res: ServerResponse, error: unknown): void {
  const text = error instanceof Error ? error.message : String(error);
  res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(`${text}\n`);
}

function answerConnections(req: IncomingMessage, res: ServerResponse, source: ConnectionsSource, limit: number): void {
  const send = (status: number, body: string) =>
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end(body);
  Promise.resolve()
    .then(() => source(limit))
    .then(
      (page) => send(200, JSON.stringify(page)),
      (err: unknown) => send(500, JSON.stringify({ error: err instanceof Error ? err.message : String(err) })),
    )
    .catch(() => req.socket.destroy());
}
