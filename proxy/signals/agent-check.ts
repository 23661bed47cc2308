import { createServer, type Server, type Socket } from 'node:net';
import type { Address } from '../net/address.js';
import { guardListener, type ListenerAccounting } from '../net/accept-guard.js';
import { listenOn } from '../net/listen.js';
import { capConnections } from './connection-cap.js';

/**
 * HAProxy agent-check responder (`--agent HOST:PORT`). HAProxy connects every `agent-inter`,
 * may send an `agent-send` string, reads one line and closes. Each connection here gets the
 * line `reply()` returns at that moment, then a FIN:
 *
 *   HAProxy --connect--> [accept] --reply()--> "up ready 80%\n" + FIN --> HAProxy closes
 *                           |  bytes in: read and dropped (at most maxInputBytes, then cut off)
 *                           +- peer never closes: destroyed after lingerMs
 *
 * Nothing a peer does makes it hold more than one line: input is discarded as it arrives,
 * the reply fits in the socket buffer, and every connection is closed within lingerMs. It is a
 * management port like /metrics (connection-cap.ts): past maxConnections, the oldest connection
 * (answered long ago, lingering) is closed so that a new check is still answered.
 */

/** Options for the responder; the defaults suit HAProxy's checks (accounting: this process's). */
export interface AgentCheckOptions extends ListenerAccounting {
  /**
   * Longest a connection stays open after the reply when the peer does not close it.
   * Default 2000 ms, HAProxy's default agent-inter, which is also its check timeout.
   */
  lingerMs?: number;
  /** Bytes a peer may send (HAProxy sends only its agent-send string) before it is cut off. Default 1024. */
  maxInputBytes?: number;
  /** Check connections open at once; past it the oldest one is closed to make room. Default 64. */
  maxConnections?: number;
  /** Called when reply() throws; that connection is closed unanswered. */
  onError?: (err: unknown) => void;
}

/** The longest reply line sent; HAProxy's check buffer holds far more, a real reply is ~20 bytes. */
export const MAX_AGENT_REPLY_BYTES = 512;

/** A running responder. */
export interface AgentCheckResponder {
  /** Where it listens (the real port when 0 was asked). */
  address: Address;
  /** Check connections open right now. */
  readonly connections: number;
  /** Stops listening and closes every connection; resolves once all are released. */
  close(): Promise<void>;
}

/**
 * Makes one agent-check line of `text`: the part before the first CR or LF, trimmed, anything
 * but printable ASCII replaced by '?', cut to MAX_AGENT_REPLY_BYTES with the line end, and
 * ended by '\n' (HAProxy ignores a reply without a line end).
 */
export function formatAgentReply(text: string): string {
  const firstLine = text.split(/[\r\n]/, 1)[0]!.trim();
  return `${firstLine.replace(/[^\x20-\x7e\t]/g, '?').slice(0, MAX_AGENT_REPLY_BYTES - 1)}\n`;
}

/** Starts an agent-check responder on `listen`; `reply()` is asked once per connection. */
export async function startAgentCheck(listen: Address, reply: () => string, options: AgentCheckOptions = {}): Promise<AgentCheckResponder> {
  const lingerMs = options.lingerMs ?? 2000;
  const maxInputBytes = options.maxInputBytes ?? 1024;
  const sockets = new Set<Socket>();

  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', noop); // a reset peer is routine here; 'close' cleans up
    const linger = setTimeout(() => socket.destroy(), lingerMs);
    linger.unref();
    socket.once('close', () => {
      clearTimeout(linger);
      sockets.delete(socket);
    });

    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxInputBytes) socket.destroy();
    });

    let line: string;
    try {
      line = formatAgentReply(reply());
    } catch (err) {
      options.onError?.(err);
      socket.destroy();
      return;
    }
    // end() sends the line then FIN; the peer's own close (or the linger timer) finishes it.
    socket.end(line);
  });
  capConnections(server, { max: options.maxConnections ?? 64, guard: guardListener(server, 'agent port', options) });

  const address = await listenOn(server, listen);
  let closing: Promise<void> | undefined;
  return {
    address,
    get connections() {
      return sockets.size;
    },
    close: () =>
      (closing ??= (async () => {
        const listenerClosed = new Promise<void>((done) => server.close(() => done()));
        const open = [...sockets].map((s) => new Promise<void>((done) => (s.closed ? done() : s.once('close', () => done()))));
        for (const s of sockets) s.destroy();
        await Promise.all([listenerClosed, ...open]);
      })()),
  };
}

function noop(): void {}
