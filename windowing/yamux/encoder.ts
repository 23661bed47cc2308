/**
 * Frame encoder: writes an exact-size 12-byte header and hands `[header, payload]` to the caller
 * without copying or concatenating the payload, ready for `socket.writev` / cork + write.
 */
import {
  FrameType,
  GoAwayCode,
  HEADER_BYTES,
  HeaderOffset,
  PROTOCOL_VERSION,
  SESSION_STREAM_ID,
  UINT16_MAX,
  UINT32_MAX,
  UINT8_MAX,
} from './constants.js';
import { InvalidFrameFieldError } from './errors.js';
import type { FrameHeader } from './frame.js';

/** Header fields for the encoder; `version` defaults to 0. */
export type FrameFields = Omit<FrameHeader, 'version'> & { readonly version?: number };

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new InvalidFrameFieldError(name, `must be a whole number in 0..${max}, got ${value}`);
  }
}

/** Returns a Buffer view of `bytes` without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Encodes a header into a fresh 12-byte buffer. Any u8/u16/u32 value is accepted (so tests can
 * build bad frames); out-of-range fields throw InvalidFrameFieldError.
 */
export function encodeHeader(fields: FrameFields): Buffer {
  const version = fields.version ?? PROTOCOL_VERSION;
  checkField('version', version, UINT8_MAX);
  checkField('type', fields.type, UINT8_MAX);
  checkField('flags', fields.flags, UINT16_MAX);
  checkField('streamId', fields.streamId, UINT32_MAX);
  checkField('length', fields.length, UINT32_MAX);
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt8(version, HeaderOffset.version);
  header.writeUInt8(fields.type, HeaderOffset.type);
  header.writeUInt16BE(fields.flags, HeaderOffset.flags);
  header.writeUInt32BE(fields.streamId, HeaderOffset.streamId);
  header.writeUInt32BE(fields.length, HeaderOffset.length);
  return header;
}

/**
 * Encodes a frame as `[header]` or `[header, payload]`; the payload is the caller's bytes, not a copy.
 * Only data frames carry a payload, and its size must equal `length`.
 */
export function encodeFrame(fields: FrameFields, payload?: Uint8Array): Buffer[] {
  if (fields.type === FrameType.Data) {
    const size = payload?.byteLength ?? 0;
    if (size !== fields.length) {
      throw new InvalidFrameFieldError('length', `data frame says ${fields.length} bytes but the payload has ${size}`);
    }
  } else if (payload !== undefined && payload.byteLength > 0) {
    throw new InvalidFrameFieldError('payload', `only data frames carry a payload`);
  }
  const header = encodeHeader(fields);
  return payload === undefined || payload.byteLength === 0 ? [header] : [header, asBuffer(payload)];
}

/** A data frame for `streamId` carrying `payload` (not copied). */
export function dataFrame(streamId: number, flags: number, payload: Uint8Array): Buffer[] {
  return encodeFrame({ type: FrameType.Data, flags, streamId, length: payload.byteLength }, payload);
}

/** A window update for `streamId` adding `deltaBytes` to the peer's send window. */
export function windowUpdateFrame(streamId: number, flags: number, deltaBytes: number): Buffer[] {
  return encodeFrame({ type: FrameType.WindowUpdate, flags, streamId, length: deltaBytes });
}

/** A ping on the session id carrying `opaque`; SYN asks, ACK answers with the same value. */
export function pingFrame(flags: number, opaque: number): Buffer[] {
  return encodeFrame({ type: FrameType.Ping, flags, streamId: SESSION_STREAM_ID, length: opaque });
}

/** A go away on the session id carrying `code`. */
export function goAwayFrame(code: number = GoAwayCode.Normal): Buffer[] {
  return encodeFrame({ type: FrameType.GoAway, flags: 0, streamId: SESSION_STREAM_ID, length: code });
}
