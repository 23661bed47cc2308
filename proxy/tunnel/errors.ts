/**
 * Errors a tunnel stream or link ends with. Each has a stable `code`; a stream the peer reset
 * carries `ECONNRESET`, like a TCP socket, so code that relays between sockets and streams (Relay)
 * treats both alike and passes the reset on as a reset.
 */
import type { OpenRefusal } from '../../windowing/yamux/session.js';
import type { SessionError } from '../../windowing/yamux/errors.js';

/** The peer reset the stream (RST), or refused to open it. */
export class StreamResetError extends Error {
  readonly code = 'ECONNRESET';
  constructor(readonly streamId: number) {
    super(`stream ${streamId} was reset by the peer`);
    this.name = 'StreamResetError';
  }
}

/** The link under the stream went away (closed, broken, keepalive timeout, protocol error) before it finished. */
export class LinkLostError extends Error {
  readonly code = 'ERR_TUNNEL_LINK_LOST';
  constructor(reason: string, cause?: unknown) {
    super(`tunnel link lost: ${reason}`);
    this.name = 'LinkLostError';
    if (cause !== undefined) this.cause = cause;
  }
}

/** The peer did not answer a keepalive ping within one keepalive interval. */
export class KeepaliveTimeoutError extends Error {
  readonly code = 'ERR_TUNNEL_KEEPALIVE_TIMEOUT';
  constructor(readonly intervalMs: number) {
    super(`no reply to a keepalive ping within ${intervalMs} ms`);
    this.name = 'KeepaliveTimeoutError';
  }
}

/** The peer did not answer the session's first ping within the handshake deadline (a silent or non-yamux peer). */
export class HandshakeTimeoutError extends Error {
  readonly code = 'ERR_TUNNEL_HANDSHAKE_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`no reply to the first ping within ${timeoutMs} ms`);
    this.name = 'HandshakeTimeoutError';
  }
}

/** The peer broke the framing protocol; the session answered with a go away. */
export class TunnelProtocolError extends Error {
  readonly code: string;
  constructor(readonly sessionError: SessionError) {
    super(`tunnel protocol error: ${sessionError.message}`);
    this.name = 'TunnelProtocolError';
    this.code = sessionError.code;
    this.cause = sessionError;
  }
}

/** The peer ended the session with a go away carrying an error code. */
export class RemoteGoAwayError extends Error {
  readonly code = 'ERR_TUNNEL_REMOTE_GO_AWAY';
  constructor(readonly goAwayCode: number) {
    super(`the peer ended the session with go away code ${goAwayCode}`);
    this.name = 'RemoteGoAwayError';
  }
}

/** open() could not open a stream now (going away, stream limit, backlog, ids exhausted, closed). */
export class StreamOpenError extends Error {
  readonly code = 'ERR_TUNNEL_OPEN_REFUSED';
  constructor(readonly reason: OpenRefusal) {
    super(`cannot open a stream: ${reason}`);
    this.name = 'StreamOpenError';
  }
}
