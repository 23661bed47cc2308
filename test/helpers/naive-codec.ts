/**
 * A deliberately naive second codec for cross-checking the real one: byte arithmetic by hand,
 * whole buffers only, no views, no limits. Slow and obvious on purpose.
 */

/** A whole frame as the naive codec sees it. */
export interface NaiveFrame {
  version: number;
  type: number;
  flags: number;
  streamId: number;
  length: number;
  payload: number[];
}

function u32(value: number): number[] {
  return [Math.floor(value / 2 ** 24) % 256, Math.floor(value / 2 ** 16) % 256, Math.floor(value / 2 ** 8) % 256, value % 256];
}

/** Encodes one frame into a fresh byte array: header fields one byte at a time, then the payload. */
export function naiveEncode(frame: NaiveFrame): Uint8Array {
  const bytes = [frame.version, frame.type, Math.floor(frame.flags / 256), frame.flags % 256, ...u32(frame.streamId), ...u32(frame.length), ...frame.payload];
  return Uint8Array.from(bytes);
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] * 256 + bytes[at + 1]) * 256 + bytes[at + 2]) * 256 + bytes[at + 3];
}

/** Decodes a buffer holding only whole frames; data frames take `length` payload bytes, others none. */
export function naiveDecode(bytes: Uint8Array): NaiveFrame[] {
  const frames: NaiveFrame[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 12) throw new Error(`naive: ${bytes.length - at} trailing bytes`);
    const frame: NaiveFrame = {
      version: bytes[at],
      type: bytes[at + 1],
      flags: bytes[at + 2] * 256 + bytes[at + 3],
      streamId: readU32(bytes, at + 4),
      length: readU32(bytes, at + 8),
      payload: [],
    };
    at += 12;
    if (frame.type === 0) {
      if (bytes.length - at < frame.length) throw new Error('naive: truncated payload');
      frame.payload = Array.from(bytes.subarray(at, at + frame.length));
      at += frame.length;
    }
    frames.push(frame);
  }
  return frames;
}
