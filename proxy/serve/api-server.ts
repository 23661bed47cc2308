import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Address } from '../net/address.js';
import {
  BodyTooLargeError,
  createManagementServer,
  MANAGEMENT_DEFAULTS,
  readBody,
  type ManagementServerOptions,
} from '../signals/management-server.js';
import { API_VERSION, ApiError, type ControlTarget } from './control.js';
import { asApiError, errorAnswer, HANDLERS, textAnswer, type Answer } from './api-handlers.js';
import { BadPathError, cleanPath, matchRoute } from './api-routes.js';
import { newRequestId } from './request-id.js';

/**
 * `sluice serve`'s control API: toxiproxy 2.x's HTTP API (api.go) in front of a ControlTarget,
 * on a management server (capped connections, short header and request timeouts, bounded body).
 *
 *   request --> X-Toxiproxy-Request-Id --> browser? 403 --> unclean path? 301 --> route (404, 405)
 *           --> body (at most 64 KiB, else 413) --> handler --> the fleet --> JSON answer
 *                                                    `--> no answer within 25 s: 503
 *
 * This layer parses, routes and renders; every decision and error message is the fleet's.
 * Unlike toxiproxy, whose middlewares run only on a matched route, the request id and the
 * browser refusal apply to every request.
 */

/** Limits of the control API (see MANAGEMENT_DEFAULTS) and what it reports. */
export interface ControlApiOptions extends Partial<ManagementServerOptions> {
  /** A request body longer than this is refused with 413; default 64 KiB. */
  maxBodyBytes?: number;
  /** A request the fleet has not answered within this gets 503, as toxiproxy's TimeoutHandler; default 25 s. */
  answerTimeoutMs?: number;
  /** What `GET /version` says; default toxiproxy's version this API follows. */
  version?: string;
}

/** A running control API. */
export interface ControlApi {
  /** Where it listens (the real port when 0 was asked). */
  address: Address;
  /** Connections open now (at most the cap). */
  readonly connections: number;
  /** The HTTP server underneath (its 'connection' events, for tests). */
  readonly server: Server;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** toxiproxy's TimeoutHandler around every route (api.go `timeoutMiddleware`). */
export const ANSWER_TIMEOUT_MS = 25_000;

// api.go stopBrowsersMiddleware: a page in a browser must not steer proxies by cross-site requests.
const BROWSER_PREFIX = 'Mozilla/';

/** Starts the control API on `address`, steering `target`; resolves once it listens. */
export async function startControlApi(address: Address, target: ControlTarget, options: ControlApiOptions = {}): Promise<ControlApi> {
  const context = { target, version: options.version ?? API_VERSION };
  const maxBodyBytes = options.maxBodyBytes ?? MANAGEMENT_DEFAULTS.maxBodyBytes;
  const answerTimeoutMs = options.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
  const idleTimeoutMs = options.idleTimeoutMs ?? MANAGEMENT_DEFAULTS.idleTimeoutMs;

  const send = (req: IncomingMessage, res: ServerResponse, answer: Answer): void => {
    if (res.headersSent || res.writableEnded) return;
    // The idle timeout was lifted while the fleet worked; a peer that will not read the answer still goes.
    req.socket.setTimeout(idleTimeoutMs);
    try {
      res.writeHead(answer.status, answer.headers).end(answer.body);
    } catch (err) {
      // A header Node will not write (a Location built from an odd path): drop this connection, not the process.
      options.onNotice?.(`control API: ${req.method} ${req.url}: ${describe(err)}`);
      res.destroy();
    }
  };

  const answerRoute = async (req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<Answer> => {
    const match = matchRoute(req.method ?? 'GET', path);
    // gorilla/mux's NotFoundHandler and methodNotAllowed; the Allow header is ours (RFC 9110 wants it).
    if (match.kind === 'not-found') return textAnswer(404, '404 page not found');
    if (match.kind === 'method-not-allowed') return { status: 405, headers: { Allow: match.allow.join(', ') } };
    let body: Buffer = Buffer.alloc(0);
    if (match.route.takesBody) {
      try {
        body = await readBody(req, maxBodyBytes);
      } catch (err) {
        // A peer that hangs up mid-body is no fault of ours: answered (into the void) without a notice.
        if (!(err instanceof BodyTooLargeError)) throw ApiError.badBody((err as Error).message);
        res.setHeader('Connection', 'close');
        return errorAnswer(new ApiError(err.status, err.message));
      }
    }
    return HANDLERS[match.route.name](context, { params: match.params, query: new URLSearchParams(query), body });
  };

  const handle: RequestListener = (req, res) => {
    res.setHeader('X-Toxiproxy-Request-Id', newRequestId());
    const agent = req.headers['user-agent'];
    if (agent !== undefined && agent.startsWith(BROWSER_PREFIX)) {
      send(req, res, textAnswer(403, 'User agent not allowed'));
      return;
    }
    const { path, query } = splitTarget(req.url ?? '/');
    const clean = cleanPath(path);
    if (clean !== path) {
      send(req, res, { status: 301, headers: { Location: `${clean}${query ? `?${query}` : ''}` } });
      return;
    }
    // The idle timeout would cut a request the fleet takes long over; the answer deadline bounds it instead.
    req.socket.setTimeout(0);
    const deadline = setTimeout(() => send(req, res, { status: 503 }), answerTimeoutMs);
    answerRoute(req, res, path, query)
      .catch((err: unknown) => {
        if (err instanceof BadPathError) return errorAnswer(new ApiError(400, `bad request path: ${err.message}`));
        if (!(err instanceof ApiError)) options.onNotice?.(`control API: ${req.method} ${path}: ${describe(err)}`);
        return errorAnswer(asApiError(err));
      })
      .then((answer) => send(req, res, answer))
      .finally(() => clearTimeout(deadline));
  };

  const management = createManagementServer(handle, { ...options, name: options.name ?? 'control API' });
  const listening = await management.listen(address);
  return {
    address: listening,
    get connections() {
      return management.cap.size;
    },
    server: management.server,
    close: () => management.close(),
  };
}

/** The path and the query (without `?`) of a request target, origin-form or absolute-form. */
function splitTarget(target: string): { path: string; query: string } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    try {
      const url = new URL(target);
      return { path: url.pathname, query: url.search.slice(1) };
    } catch {
      return { path: target, query: '' };
    }
  }
  const hash = target.indexOf('#');
  if (hash !== -1) target = target.slice(0, hash);
  const q = target.indexOf('?');
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message).split('\n').slice(0, 2).join(' ') : String(err);
}
