/**
 * Incremental frame decoder, an explicit state machine:
 *
 *   AwaitHeader --12 bytes--> check version, type, max frame size --> (data with payload) AwaitPayload
 *        ^                                                                       |
 *        +----------------------- payload fully passed on -----------------------+
 *   any check fails --> Failed (sticky: every later push throws the same error)
 *
 * A data frame's payload is not buffered: it is passed on as views of the input chunks as the bytes
 * arrive, in FrameParts (yamux reads a payload straight into the stream's buffer; so does the session).
 * The header is announced in the first part, before any payload byte is waited for, so every limit
 * the header alone decides (here: version, type, frame size; in the session: the receive window) is
 * decided at once. The only bytes ever held are a header split across chunks (at most 11), copied
 * into a 12-byte scratch; nothing else is copied.
 */
import { DEFAULT_MAX_FRAME_BYTES, FrameType, HEADER_BYTES, HeaderOffset, PROTOCOL_VERSION, UINT32_MAX } from './constants.js';
import { FrameTooLargeError, InvalidOptionError, ProtocolError, UnknownFrameTypeError, UnsupportedVersionError } from './errors.js';
import type { FrameHeader } from './frame.js';

/** A header plus the payload bytes of that frame that arrived in this chunk. */
export interface FramePart {
  /** The frame's header; the same object in every part of one frame. */
  readonly header: FrameHeader;
  /** Payload bytes in this part: a view of the pushed chunk, possibly empty. Only data frames have any. */
  readonly payload: Buffer;
  /** True on the frame's first part, the one announcing the header (its payload may be empty). */
  readonly start: boolean;
  /** Where `payload` starts within the frame's payload. */
  readonly offset: number;
  /** True on the frame's last part: after it, the frame's flags (FIN, RST) may take effect. */
  readonly end: boolean;
}

/** Decoder states, named for what they wait for. */
export const DecoderState = {
  AwaitHeader: 'AwaitHeader',
  AwaitPayload: 'AwaitPayload',
  Failed: 'Failed',
} as const;
/** One of the decoder states. */
export type DecoderState = (typeof DecoderState)[keyof typeof DecoderState];

/** Decoder options. */
export interface DecoderOptions {
  /** Longest data payload accepted, checked from the header; defaults to 16 MiB. */
  maxFrameBytes?: number;
}

const EMPTY = Buffer.alloc(0);

/** Reads the 12 header bytes at `at`; no validation. */
export function parseHeader(bytes: Buffer, at = 0): FrameHeader {
  return {
    version: bytes.readUInt8(at + HeaderOffset.version),
    type: bytes.readUInt8(at + HeaderOffset.type) as FrameType,
    flags: bytes.readUInt16BE(at + HeaderOffset.flags),
    streamId: bytes.readUInt32BE(at + HeaderOffset.streamId),
    length: bytes.readUInt32BE(at + HeaderOffset.length),
  };
}

/** Turns a byte stream into FrameParts; holds at most one partial header, never a payload. */
export class FrameDecoder {
  /** Longest data payload accepted. */
  readonly maxFrameBytes: number;
  private currentState: DecoderState = DecoderState.AwaitHeader;
  private readonly scratch = Buffer.alloc(HEADER_BYTES);
  private scratchBytes = 0;
  private frame: FrameHeader | null = null;
  private payloadSeen = 0;
  private failure: ProtocolError | null = null;

  constructor(options: DecoderOptions = {}) {
    const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 0 || max > UINT32_MAX) {
      throw new InvalidOptionError('maxFrameBytes', `a whole number in 0..${UINT32_MAX}`, max);
    }
    this.maxFrameBytes = max;
  }

  /** What the decoder is waiting for. */
  get state(): DecoderState {
    return this.currentState;
  }

  /** Bytes held between pushes: only a partial header, so always below 12. */
  get bufferedBytes(): number {
    return this.scratchBytes;
  }

  /** The error that failed the decoder, if any. */
  get error(): ProtocolError | null {
    return this.failure;
  }

  /** Decodes `chunk` and returns the parts completed so far; throws a ProtocolError on a bad header. */
  push(chunk: Uint8Array): FramePart[] {
    const parts: FramePart[] = [];
    this.decode(chunk, (part) => parts.push(part));
    return parts;
  }

  /**
   * Decodes `chunk`, calling `onPart` for each part in order, so a caller handles every frame that
   * precedes a bad header. State is settled before each call, so `onPart` may throw to stop.
   */
  decode(chunk: Uint8Array, onPart: (part: FramePart) => void): void {
    if (this.failure !== null) throw this.failure;
    const input = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    while (pos < input.length) {
      if (this.currentState === DecoderState.AwaitHeader) {
        let header: FrameHeader;
        if (this.scratchBytes === 0 && input.length - pos >= HEADER_BYTES) {
          header = parseHeader(input, pos);
          pos += HEADER_BYTES;
        } else {
          const take = Math.min(HEADER_BYTES - this.scratchBytes, input.length - pos);
          input.copy(this.scratch, this.scratchBytes, pos, pos + take);
          this.scratchBytes += take;
          pos += take;
          if (this.scratchBytes < HEADER_BYTES) return;
          header = parseHeader(this.scratch);
          this.scratchBytes = 0;
        }
        this.check(header);
        if (header.type !== FrameType.Data || header.length === 0) {
          onPart({ header, payload: EMPTY, start: true, offset: 0, end: true });
          continue;
        }
        const take = Math.min(header.length, input.length - pos);
        const end = take === header.length;
        if (!end) {
          this.currentState = DecoderState.AwaitPayload;
          this.frame = header;
          this.payloadSeen = take;
        }
        const payload = input.subarray(pos, pos + take);
        pos += take;
        onPart({ header, payload, start: true, offset: 0, end });
      } else {
        const header = this.frame as FrameHeader;
        const offset = this.payloadSeen;
        const take = Math.min(header.length - offset, input.length - pos);
        const end = offset + take === header.length;
        this.payloadSeen += take;
        if (end) {
          this.currentState = DecoderState.AwaitHeader;
          this.frame = null;
          this.payloadSeen = 0;
        }
        const payload = input.subarray(pos, pos + take);
        pos += take;
        onPart({ header, payload, start: false, offset, end });
      }
    }
  }

  private check(header: FrameHeader): void {
    let error: ProtocolError | null = null;
    if (header.version !== PROTOCOL_VERSION) error = new UnsupportedVersionError(header.version);
    else if (header.type > FrameType.GoAway) error = new UnknownFrameTypeError(header.type);
    else if (header.type === FrameType.Data && header.length > this.maxFrameBytes) {
      error = new FrameTooLargeError(header.length, this.maxFrameBytes);
    }
    if (error !== null) {
      this.failure = error;
      this.currentState = DecoderState.Failed;
      throw error;
    }
  }
}
