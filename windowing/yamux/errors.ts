/**
 * Typed errors of the framing layer. Every class has a stable `code`; errors caused by the peer
 * extend SessionError and carry the go-away code the session answers with. Check with `instanceof`.
 * Errors caused by the local caller (bad options, misuse of a stream) extend UsageError and are
 * thrown at the call that made the mistake; they never travel on the wire.
 */
import { GoAwayCode } from './constants.js';

/** Base of every error thrown or reported by windowing/. */
export abstract class WindowingError extends Error {
  /** Stable machine-readable identifier, e.g. `ERR_RECV_WINDOW_EXCEEDED`. */
  abstract readonly code: string;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An error that ends the session: the session queues a go away with `goAwayCode` and stops. */
export abstract class SessionError extends WindowingError {
  /** Go-away code sent to the peer because of this error. */
  abstract readonly goAwayCode: GoAwayCode;
}

/** The peer broke the protocol or a limit; answered with go away (1, protocol error). */
export abstract class ProtocolError extends SessionError {
  readonly goAwayCode = GoAwayCode.ProtocolError;
}

/** A header carried a version other than 0. */
export class UnsupportedVersionError extends ProtocolError {
  readonly code = 'ERR_UNSUPPORTED_VERSION';
  constructor(readonly version: number) {
    super(`unsupported protocol version ${version} (only 0 is known)`);
  }
}

/** A header carried a frame type outside 0..3. */
export class UnknownFrameTypeError extends ProtocolError {
  readonly code = 'ERR_UNKNOWN_FRAME_TYPE';
  constructor(readonly frameType: number) {
    super(`unknown frame type ${frameType}`);
  }
}

/** A data frame announced more bytes than the decoder's maximum frame size. */
export class FrameTooLargeError extends ProtocolError {
  readonly code = 'ERR_FRAME_TOO_LARGE';
  constructor(readonly lengthBytes: number, readonly maxFrameBytes: number) {
    super(`data frame of ${lengthBytes} bytes exceeds the maximum frame size of ${maxFrameBytes} bytes`);
  }
}

/** A data frame announced more bytes than the stream's remaining receive window. */
export class ReceiveWindowExceededError extends ProtocolError {
  readonly code = 'ERR_RECV_WINDOW_EXCEEDED';
  constructor(readonly streamId: number, readonly lengthBytes: number, readonly creditBytes: number) {
    super(`stream ${streamId}: data frame of ${lengthBytes} bytes exceeds the receive window of ${creditBytes} bytes`);
  }
}

/** A window update would push the stream's send window past 2^32-1. */
export class WindowOverflowError extends ProtocolError {
  readonly code = 'ERR_WINDOW_OVERFLOW';
  constructor(readonly streamId: number, readonly creditBytes: number, readonly deltaBytes: number) {
    super(`stream ${streamId}: window update of ${deltaBytes} on a window of ${creditBytes} exceeds 2^32-1`);
  }
}

/** A frame named a stream id it may not: 0 for a stream frame, non-0 for ping or go away, never opened, reused. */
export class InvalidStreamIdError extends ProtocolError {
  readonly code = 'ERR_INVALID_STREAM_ID';
  constructor(readonly streamId: number, reason: string) {
    super(`stream id ${streamId}: ${reason}`);
  }
}

/** The peer opened a stream with an id of our parity: both sides are dialing (or both accepting). */
export class StreamIdParityError extends ProtocolError {
  readonly code = 'ERR_STREAM_ID_PARITY';
  constructor(readonly streamId: number) {
    super(`stream id ${streamId} has our parity: both sides act as the same role`);
  }
}

/** The peer opened a stream whose id is already live. */
export class DuplicateStreamError extends ProtocolError {
  readonly code = 'ERR_DUPLICATE_STREAM';
  constructor(readonly streamId: number) {
    super(`stream ${streamId} opened twice`);
  }
}

/** The peer sent data on a stream after its own FIN. */
export class DataAfterFinError extends ProtocolError {
  readonly code = 'ERR_DATA_AFTER_FIN';
  constructor(readonly streamId: number) {
    super(`stream ${streamId}: data after the peer's FIN`);
  }
}

/** The peer sent too many frames that carry nothing (empty data, zero-delta updates) in a row. */
export class EmptyFrameFloodError extends ProtocolError {
  readonly code = 'ERR_EMPTY_FRAME_FLOOD';
  constructor(readonly limit: number) {
    super(`more than ${limit} consecutive empty frames`);
  }
}

/** The peer sent more window updates than the data we sent could justify. */
export class WindowUpdateFloodError extends ProtocolError {
  readonly code = 'ERR_WINDOW_UPDATE_FLOOD';
  constructor(readonly received: number, readonly allowed: number) {
    super(`${received} window updates received, only ${allowed} justified by the data sent`);
  }
}

/** The peer forced more replies (ping ACKs, refusals) than may wait unflushed. */
export class ControlReplyFloodError extends ProtocolError {
  readonly code = 'ERR_CONTROL_REPLY_FLOOD';
  constructor(readonly limit: number) {
    super(`more than ${limit} control replies queued and not flushed`);
  }
}

/** The peer reset streams faster than the reset budget refills (Rapid Reset). */
export class ResetFloodError extends ProtocolError {
  readonly code = 'ERR_RESET_FLOOD';
  constructor() {
    super('stream resets arrive faster than the reset budget allows');
  }
}

/** Something failed on our side while handling input; answered with go away (2, internal error). */
export class InternalError extends SessionError {
  readonly code = 'ERR_INTERNAL';
  readonly goAwayCode = GoAwayCode.InternalError;
  constructor(cause: unknown) {
    super(`internal error: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.cause = cause;
  }
}

/** A mistake by the local caller; thrown where it is made, never sent to the peer. */
export abstract class UsageError extends WindowingError {}

/** An option is missing its bounds; the message names the option and the bound. */
export class InvalidOptionError extends UsageError {
  readonly code = 'ERR_INVALID_OPTION';
  constructor(readonly option: string, readonly bound: string, value: unknown) {
    super(`${option} must be ${bound}, got ${String(value)}`);
  }
}

/** A header field given to the encoder does not fit its wire size, or the payload does not match. */
export class InvalidFrameFieldError extends UsageError {
  readonly code = 'ERR_INVALID_FRAME_FIELD';
  constructor(readonly field: string, reason: string) {
    super(`${field}: ${reason}`);
  }
}

/** A stream operation that its state forbids, e.g. send after close or consuming bytes never delivered. */
export class StreamStateError extends UsageError {
  readonly code = 'ERR_STREAM_STATE';
  constructor(readonly streamId: number, reason: string) {
    super(`stream ${streamId}: ${reason}`);
  }
}
