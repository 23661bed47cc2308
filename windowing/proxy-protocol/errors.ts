/**
 * Typed errors of the PROXY protocol codec, each with a stable `code`. Errors caused by the bytes a
 * peer sent extend ProxyHeaderError: the connection is closed and nothing of it is forwarded. Errors
 * caused by the local caller (a bad field given to the encoder, pushing into a finished decoder)
 * extend UsageError and are thrown where the mistake is made. Check with `instanceof`.
 */
import { UsageError, WindowingError } from '../yamux/errors.js';

/** Why a header was refused as invalid; stable strings, fit for logs and metrics labels. */
export const ProxyHeaderInvalidReason = {
  /** The first bytes are neither "PROXY " nor the v2 signature. */
  Signature: 'signature',
  /** A v1 line names a protocol other than TCP4, TCP6 or UNKNOWN. */
  V1Protocol: 'v1-protocol',
  /** A v1 line has the wrong number of fields or not exactly one space between them. */
  V1Syntax: 'v1-syntax',
  /** A v1 line holds a CR not followed by LF, or an LF not preceded by CR. */
  V1LineEnding: 'v1-line-ending',
  /** A v1 address is not valid text for the line's family. */
  V1Address: 'v1-address',
  /** A v1 port is not a decimal in 0..65535 without leading zeros. */
  V1Port: 'v1-port',
  /** The high nibble of the v2 version/command byte is not 2. */
  V2Version: 'v2-version',
  /** The low nibble of the v2 version/command byte is neither LOCAL nor PROXY. */
  V2Command: 'v2-command',
  /** The v2 family/transport byte is not one the spec defines. */
  V2Family: 'v2-family',
  /** The v2 length is shorter than the family's address block. */
  V2AddressBlock: 'v2-address-block',
  /** A TLV header or value runs past the length the v2 header declared. */
  TlvOverrun: 'tlv-overrun',
  /** A CRC32C TLV is not 4 bytes, appears twice, or does not match the header. */
  Crc32c: 'crc32c',
  /** A UNIQUE_ID TLV is longer than 128 bytes. */
  UniqueIdTooLong: 'unique-id-too-long',
  /** An SSL TLV is shorter than its 5 fixed bytes or its sub-TLVs overrun it. */
  SslTlv: 'ssl-tlv',
} as const;
/** One reason a header is invalid. */
export type ProxyHeaderInvalidReason = (typeof ProxyHeaderInvalidReason)[keyof typeof ProxyHeaderInvalidReason];

/** Base of every error a peer's header bytes can cause; the caller closes the connection. */
export abstract class ProxyHeaderError extends WindowingError {}

/** The bytes break the PROXY protocol; `reason` says which rule, the message the detail. */
export class ProxyHeaderInvalidError extends ProxyHeaderError {
  readonly code = 'ERR_PROXY_HEADER_INVALID';
  constructor(readonly reason: ProxyHeaderInvalidReason, detail: string) {
    super(`invalid PROXY protocol header (${reason}): ${detail}`);
  }
}

/** The header is longer than allowed: a v1 line without CRLF in 107 bytes, or a v2 length past the maximum. */
export class ProxyHeaderTooLargeError extends ProxyHeaderError {
  readonly code = 'ERR_PROXY_HEADER_TOO_LARGE';
  /**
   * @param version 1 or 2
   * @param byteLength bytes the header takes (v2, from its length field) or has taken so far (v1)
   * @param maxBytes the limit it crossed
   */
  constructor(readonly version: 1 | 2, readonly byteLength: number, readonly maxBytes: number) {
    super(
      version === 1
        ? `PROXY protocol v1 line has no CRLF within ${maxBytes} bytes`
        : `PROXY protocol v2 header of ${byteLength} bytes exceeds the maximum of ${maxBytes} bytes`,
    );
  }
}

/** A well-formed header that sluice, a TCP proxy, declines: a PROXY command for a datagram family. */
export class ProxyHeaderUnsupportedError extends ProxyHeaderError {
  readonly code = 'ERR_PROXY_HEADER_UNSUPPORTED';
  constructor(readonly family: number, detail: string) {
    super(`unsupported PROXY protocol header (family 0x${family.toString(16).padStart(2, '0')}): ${detail}`);
  }
}

/** The connection ended, or the caller's deadline passed, before a whole header arrived. */
export class ProxyHeaderIncompleteError extends ProxyHeaderError {
  readonly code = 'ERR_PROXY_HEADER_INCOMPLETE';
  /**
   * @param receivedBytes header bytes that had arrived
   * @param ending what stopped the wait: the peer's end of input, or the caller's header deadline
   */
  constructor(readonly receivedBytes: number, readonly ending: 'end' | 'deadline') {
    const what = ending === 'end' ? 'connection ended' : 'deadline passed';
    super(
      receivedBytes === 0
        ? `no PROXY protocol header: ${what} before any byte`
        : `incomplete PROXY protocol header: ${what} after ${receivedBytes} bytes`,
    );
  }
}

/** A field given to the encoder or the address helper cannot be put on the wire. */
export class InvalidProxyFieldError extends UsageError {
  readonly code = 'ERR_INVALID_PROXY_FIELD';
  constructor(readonly field: string, reason: string) {
    super(`${field}: ${reason}`);
  }
}

/** The decoder was used after it finished: once a header is out, the rest of the stream is the caller's. */
export class ProxyDecoderStateError extends UsageError {
  readonly code = 'ERR_PROXY_DECODER_STATE';
  constructor(reason: string) {
    super(`PROXY header decoder: ${reason}`);
  }
}
