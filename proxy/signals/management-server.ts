import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Address } from '../net/address.js';
import { guardListener, type ListenerAccounting } from '../net/accept-guard.js';
import { listenOn } from '../net/listen.js';
import { capConnections, type ConnectionCap } from './connection-cap.js';

/**
 * An HTTP server for a management port (/metrics and /healthz, the control API): whatever its
 * peers do, it holds few descriptors and none for long, so it cannot starve the data plane.
 *
 *   accept --> cap (16; the oldest idle, unfinished or unread one makes room) --> headers within 5 s
 *          --> whole request within 10 s --> answer (a second request before it: closed)
 *          --> idle keep-alive 5 s; silent 10 s: closed
 *
 * Node's own defaults (no cap, 60 s for headers, 300 s for a request) let 1100 half-sent
 * requests hold 1100 descriptors for a minute.
 */

/** The defaults, with their reasons. */
export const MANAGEMENT_DEFAULTS = Object.freeze({
  // HAProxy's stats socket allows 10 at once; a scraper and a few health checkers need fewer,
  // and each answer takes milliseconds. The cap makes room for newcomers, so it is not a queue.
  maxConnections: 16,
  // A scrape or health check sends its whole request at once; 5 s covers a slow network path.
  headersTimeoutMs: 5_000,
  // Bodies are small (the control API's JSON); twice the header time is plenty.
  requestTimeoutMs: 10_000,
  // Scrapers reuse connections between scrapes; an idle one is closed after this.
  keepAliveTimeoutMs: 5_000,
  // A peer that neither sends nor reads (a response stuck in a full socket buffer) goes after this.
  idleTimeoutMs: 10_000,
  // A request body (control API) larger than this is refused with 413.
  maxBodyBytes: 64 * 1024,
} as const);

/** How a management server is set up; every limit has a default in MANAGEMENT_DEFAULTS (accounting: this process's). */
export interface ManagementServerOptions extends ListenerAccounting {
  /** Names the port in log lines: "metrics port", "control API". */
  name: string;
  maxConnections?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/** A management HTTP server, not yet listening. */
export interface ManagementServer {
  readonly server: Server;
  /** The connection cap (size, evictions). */
  readonly cap: ConnectionCap;
  /** Starts listening; resolves with the real address. */
  listen(address: Address): Promise<Address>;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Creates a management server answering with `handler`; see the module comment. */
export function createManagementServer(handler: RequestListener, options: ManagementServerOptions): ManagementServer {
  // One request at a time per connection. Node parses every request of a read (a 64 KB chunk holds
  // a thousand pipelined GETs) and emits each at once, each answer then built and queued behind one
  // the peer never reads: found from outside, one such connection held 730 MB and the event loop
  // for seconds. Scrapers and health checkers wait for each answer; a connection that does not is
  // closed at its second request.
  const inFlight = new WeakMap<Socket, { req: IncomingMessage; res: ServerResponse }>();
  const oneAtATime: RequestListener = (req, res) => {
    const socket = req.socket;
    if (inFlight.has(socket)) {
      socket.destroy();
      return;
    }
    const exchange = { req, res };
    inFlight.set(socket, exchange);
    res.once('close', () => {
      if (inFlight.get(socket) === exchange) inFlight.delete(socket);
    });
    handler(req, res);
  };
  const headersTimeout = options.headersTimeoutMs ?? MANAGEMENT_DEFAULTS.headersTimeoutMs;
  const requestTimeout = Math.max(headersTimeout, options.requestTimeoutMs ?? MANAGEMENT_DEFAULTS.requestTimeoutMs);
  const server = createServer(
    {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? MANAGEMENT_DEFAULTS.keepAliveTimeoutMs,
      // Node checks the two timeouts above on this interval (default 30 s); a quarter of the header time keeps them close.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    oneAtATime,
  );
  server.setTimeout(options.idleTimeoutMs ?? MANAGEMENT_DEFAULTS.idleTimeoutMs);

  // Busy, so not to be closed for a newcomer: only while the answer is being made, from the whole
  // request (a body still dribbling in is a slowloris) until the answer is handed over (one the peer
  // does not read is a slow reader): each of those may make room, as an idle connection may.
  const isBusy = (socket: Socket): boolean => {
    const exchange = inFlight.get(socket);
    return exchange !== undefined && exchange.req.complete && !exchange.res.writableEnded;
  };

  const guard = guardListener(server, options.name, options);
  const cap = capConnections(server, {
    max: options.maxConnections ?? MANAGEMENT_DEFAULTS.maxConnections,
    guard,
    isBusy,
  });

  return {
    server,
    cap,
    // Node's accept queue (511), not the data plane's 4096: under a connect flood a longer queue
    // only makes a health check wait behind more of the flood (measured with bench/checks/management.ts).
    listen: (address) => listenOn(server, address),
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
        cap.closeAll();
      }),
  };
}

/** A request body longer than allowed; answer 413 and close the connection. */
export class BodyTooLargeError extends Error {
  readonly status = 413;
  constructor(readonly maxBytes: number) {
    super(`request body larger than ${maxBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a request's whole body, at most `maxBytes` (default 64 KiB): rejects with
 * BodyTooLargeError as soon as the declared or received length passes it, without buffering more.
 */
export function readBody(req: IncomingMessage, maxBytes: number = MANAGEMENT_DEFAULTS.maxBodyBytes): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      reject(new BodyTooLargeError(maxBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) {
        req.off('data', onData);
        req.pause();
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
