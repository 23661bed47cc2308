/**
 * The state of one stream inside a session: who opened it, how far the opening handshake went,
 * which directions are closed, and its two windows. Plain data; the session drives it.
 *
 *   opened by us:   SynSent --ACK--> Established
 *   opened by peer: SynReceived --accept()--> Established
 *   either: FIN sent + FIN received --> freed;  RST either way --> freed at once
 */
import { ReceiveWindow, SendWindow } from './stream-window.js';

/** How far the opening handshake of a stream went. */
export const StreamPhase = {
  SynSent: 'SynSent',
  SynReceived: 'SynReceived',
  Established: 'Established',
} as const;
/** One of the opening phases. */
export type StreamPhase = (typeof StreamPhase)[keyof typeof StreamPhase];

/** A read-only snapshot of a stream, for the caller's metrics and tests. */
export interface StreamInfo {
  /** Stream id. */
  readonly streamId: number;
  /** True when we opened it. */
  readonly local: boolean;
  /** Opening handshake progress. */
  readonly phase: StreamPhase;
  /** We sent FIN: no more data from us. */
  readonly localClosed: boolean;
  /** The peer sent FIN: no more data from it. */
  readonly remoteClosed: boolean;
  /** Bytes we may still send. */
  readonly sendCreditBytes: number;
  /** Target receive window. */
  readonly recvWindowBytes: number;
  /** Bytes the peer may still send us. */
  readonly recvCreditBytes: number;
  /** Bytes received and not yet consumed (including any still arriving in the current frame). */
  readonly recvBufferedBytes: number;
}

/** Mutable stream record owned by the session. */
export class Stream {
  phase: StreamPhase;
  localClosed = false;
  remoteClosed = false;
  /** A send came up short; a 'writable' event is due when credit returns. */
  blocked = false;
  /** We sent payload on it: a reset from now on is not open-then-reset churn. */
  answered = false;
  /** Start of the current auto-tuning epoch (first byte, then each window update); null before any data. */
  epochStartMs: number | null = null;
  /** Bytes consumed in the current epoch. */
  epochConsumedBytes = 0;
  /** Auto-tuning decisions in a row that found the window drained slowly (tuning.ts). */
  slowEpochs = 0;
  readonly send: SendWindow;
  readonly recv: ReceiveWindow;

  constructor(readonly streamId: number, readonly local: boolean, windowBytes: number) {
    this.phase = local ? StreamPhase.SynSent : StreamPhase.SynReceived;
    this.send = new SendWindow(streamId);
    this.recv = new ReceiveWindow(streamId, windowBytes);
  }

  /** A snapshot for callers. */
  info(): StreamInfo {
    return {
      streamId: this.streamId,
      local: this.local,
      phase: this.phase,
      localClosed: this.localClosed,
      remoteClosed: this.remoteClosed,
      sendCreditBytes: this.send.creditBytes,
      recvWindowBytes: this.recv.windowBytes,
      recvCreditBytes: this.recv.creditBytes,
      recvBufferedBytes: this.recv.bufferedBytes,
    };
  }
}
