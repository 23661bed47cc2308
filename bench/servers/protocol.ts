/** Messages between the bench and a built-in case server (`server.ts`), over the IPC channel. */

export type ServerRequest =
  | { id: number; type: 'reset' }
  | { id: number; type: 'stats' }
  /** Answered once `count` connections have been accepted since the last reset. */
  | { id: number; type: 'await-accepted'; count: number }
  | { id: number; type: 'drop-all' };

/** Times are absolute milliseconds (performance.timeOrigin + now()), comparable across processes. */
export interface ServerReply {
  id: number;
  port?: number;
  bytes?: number;
  firstByteAt?: number;
  lastByteAt?: number;
  accepted?: number;
  firstAcceptAt?: number;
  lastAcceptAt?: number;
  open?: number;
}

export type ServerKind = 'sink' | 'echo' | 'idle';
