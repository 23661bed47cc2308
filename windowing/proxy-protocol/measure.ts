/**
 * The decoder's decision function: given the header bytes that have arrived (from the first byte
 * of the connection, contiguous), say which state that leaves the decoder in, how long the header
 * is once that is known, or why the bytes can never become a header. Pure and re-runnable, so the
 * decoder can call it on one chunk or on what it has gathered from several alike.
 *
 * The first byte decides the version, as HAProxy does: `P` starts "PROXY " (v1), 0x0D starts the
 * v2 signature, anything else is refused at once. Each later byte is judged when it arrives.
 */
import { PROXY_V1_MAX_BYTES, PROXY_V1_PREFIX, PROXY_V2_SIGNATURE } from './constants.js';
import { ProxyHeaderError, ProxyHeaderInvalidError, ProxyHeaderInvalidReason, ProxyHeaderTooLargeError } from './errors.js';
import type { ProxyHeader } from './header.js';
import { checkV1Partial, parseV1Line } from './v1.js';
import { checkV2Fixed, parseV2, type V2Fixed } from './v2.js';

/** Decoder states, named for what they wait for. */
export const ProxyDecoderState = {
  /** The first bytes: "PROXY " or the 12-byte v2 signature. */
  AwaitSignature: 'AwaitSignature',
  /** The rest of a v1 line, up to its CRLF. */
  AwaitV1Line: 'AwaitV1Line',
  /** The rest of the 16-byte v2 fixed part, up to its length field. */
  AwaitV2Fixed: 'AwaitV2Fixed',
  /** The v2 address block and TLVs the length field announced. */
  AwaitV2Payload: 'AwaitV2Payload',
  /** A header came out; the rest of the stream is the caller's. */
  Done: 'Done',
  /** The bytes broke the protocol; the connection is to be closed. */
  Failed: 'Failed',
} as const;
/** One decoder state. */
export type ProxyDecoderState = (typeof ProxyDecoderState)[keyof typeof ProxyDecoderState];

/** What the bytes so far say. */
export type ProxyMeasure =
  | {
      readonly kind: 'need-more';
      readonly state: 'AwaitSignature' | 'AwaitV1Line' | 'AwaitV2Fixed' | 'AwaitV2Payload';
      /** Known once the first byte is in. */
      readonly version?: 1 | 2;
      /** The whole header's size, known in AwaitV2Payload. */
      readonly byteLength?: number;
    }
  | { readonly kind: 'complete'; readonly version: 1; readonly byteLength: number }
  | { readonly kind: 'complete'; readonly version: 2; readonly byteLength: number; readonly fixed: V2Fixed }
  | { readonly kind: 'error'; readonly error: ProxyHeaderError };

const V1_PREFIX_BYTES = Buffer.from(PROXY_V1_PREFIX, 'latin1');
const CR = 0x0d;
const LF = 0x0a;

function error(e: ProxyHeaderError): ProxyMeasure {
  return { kind: 'error', error: e };
}

function measureV1(bytes: Buffer): ProxyMeasure {
  const prefixBytes = Math.min(bytes.length, V1_PREFIX_BYTES.length);
  for (let i = 0; i < prefixBytes; i++) {
    if (bytes[i] !== V1_PREFIX_BYTES[i]) {
      return error(new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.Signature, `line starts "${bytes.toString('latin1', 0, i + 1)}", not "${PROXY_V1_PREFIX}"`));
    }
  }
  if (bytes.length < V1_PREFIX_BYTES.length) return { kind: 'need-more', state: 'AwaitSignature', version: 1 };
  const scanEnd = Math.min(bytes.length, PROXY_V1_MAX_BYTES);
  for (let i = V1_PREFIX_BYTES.length; i < scanEnd; i++) {
    const byte = bytes[i];
    if (byte === LF) {
      if (bytes[i - 1] !== CR) return error(new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.V1LineEnding, `LF without CR at byte ${i + 1}`));
      return { kind: 'complete', version: 1, byteLength: i + 1 };
    }
    if (bytes[i - 1] === CR) return error(new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.V1LineEnding, `CR without LF at byte ${i}`));
  }
  const contentEnd = bytes[scanEnd - 1] === CR ? scanEnd - 1 : scanEnd;
  const early = checkV1Partial(bytes.toString('latin1', V1_PREFIX_BYTES.length, contentEnd));
  if (early !== null) return error(early);
  // Spec: no CRLF within 107 bytes is an invalid line; nothing more is ever held for it.
  if (bytes.length >= PROXY_V1_MAX_BYTES) return error(new ProxyHeaderTooLargeError(1, PROXY_V1_MAX_BYTES, PROXY_V1_MAX_BYTES));
  return { kind: 'need-more', state: 'AwaitV1Line', version: 1 };
}

function measureV2(bytes: Buffer, maxHeaderBytes: number): ProxyMeasure {
  const fixed = checkV2Fixed(bytes, maxHeaderBytes);
  if (fixed instanceof ProxyHeaderError) return error(fixed);
  if (fixed === null) {
    return { kind: 'need-more', state: bytes.length < PROXY_V2_SIGNATURE.length ? 'AwaitSignature' : 'AwaitV2Fixed', version: 2 };
  }
  if (bytes.length < fixed.byteLength) return { kind: 'need-more', state: 'AwaitV2Payload', version: 2, byteLength: fixed.byteLength };
  return { kind: 'complete', version: 2, byteLength: fixed.byteLength, fixed };
}

/** Measures the header bytes that have arrived; `maxHeaderBytes` caps a v2 header (v1 is capped at 107 by the spec). */
export function measureProxyHeader(bytes: Buffer, maxHeaderBytes: number): ProxyMeasure {
  if (bytes.length === 0) return { kind: 'need-more', state: 'AwaitSignature' };
  const first = bytes[0]!;
  if (first === V1_PREFIX_BYTES[0]) return measureV1(bytes);
  if (first === PROXY_V2_SIGNATURE[0]) return measureV2(bytes, maxHeaderBytes);
  return error(new ProxyHeaderInvalidError(ProxyHeaderInvalidReason.Signature, `first byte 0x${first.toString(16).padStart(2, '0')} starts neither "${PROXY_V1_PREFIX}" nor the v2 signature`));
}

/** Parses the header a `complete` measure found at the start of `bytes`. */
export function parseMeasured(bytes: Buffer, measure: Extract<ProxyMeasure, { kind: 'complete' }>): ProxyHeader | ProxyHeaderError {
  const header = bytes.subarray(0, measure.byteLength);
  return measure.version === 1 ? parseV1Line(header) : parseV2(header, measure.fixed);
}
