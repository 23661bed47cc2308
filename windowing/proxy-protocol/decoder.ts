/**
 * Incremental PROXY header decoder, an explicit state machine (states in measure.ts):
 *
 *   AwaitSignature --"PROXY "--> AwaitV1Line --CRLF--------------------------------> Done
 *         |                          (107 bytes without CRLF: Failed)
 *         +--v2 signature--> AwaitV2Fixed --16 bytes, length checked--> AwaitV2Payload --> Done
 *   any rule broken, at the first byte that breaks it --> Failed (sticky: every later push says so)
 *
 * `push(chunk)` returns need-more, the header plus `rest` (the bytes of this chunk after the
 * header, a view, to forward as the start of the stream), or a typed error; it never throws for any
 * input. It takes no byte past the header: earlier chunks were all header, and `rest` is exactly
 * what follows it. When a whole header arrives in one chunk nothing is copied but the header's own
 * values; a header split across chunks is gathered into a buffer of at most 107 bytes (v1) or the
 * v2 header's declared size (at most `maxHeaderBytes`), allocated once the length field is in.
 */
import { DEFAULT_MAX_PROXY_HEADER_BYTES, MIN_MAX_PROXY_HEADER_BYTES, PROXY_V1_MAX_BYTES, PROXY_V2_FIXED_BYTES, PROXY_V2_MAX_HEADER_BYTES } from './constants.js';
import { InvalidOptionError } from '../yamux/errors.js';
import { ProxyDecoderStateError, ProxyHeaderError, ProxyHeaderIncompleteError } from './errors.js';
import type { ProxyHeader } from './header.js';
import { measureProxyHeader, parseMeasured, ProxyDecoderState, type ProxyMeasure } from './measure.js';

/** What one push yields. */
export type ProxyDecodeResult =
  | { readonly kind: 'need-more' }
  | {
      readonly kind: 'header';
      readonly header: ProxyHeader;
      /** The bytes of the last chunk after the header: a view of it, valid as long as the chunk is. */
      readonly rest: Buffer;
    }
  | { readonly kind: 'error'; readonly error: ProxyHeaderError };

/** Decoder options. */
export interface ProxyHeaderDecoderOptions {
  /** Largest v2 header accepted, fixed part included; checked from the length field. Defaults to 4096. */
  maxHeaderBytes?: number;
}

const NEED_MORE: ProxyDecodeResult = Object.freeze({ kind: 'need-more' });

/** Returns a Buffer view of `bytes` without copying. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads one PROXY header (v1 or v2) off the start of a connection, chunk by chunk. */
export class ProxyHeaderDecoder {
  /** Largest v2 header accepted. */
  readonly maxHeaderBytes: number;
  private currentState: ProxyDecoderState = ProxyDecoderState.AwaitSignature;
  private held: Buffer | null = null;
  private heldBytes = 0;
  private version: 1 | 2 | undefined;
  private expectedBytes: number | undefined;
  private failure: ProxyHeaderError | null = null;
  private decoded: ProxyHeader | null = null;

  constructor(options: ProxyHeaderDecoderOptions = {}) {
    const max = options.maxHeaderBytes ?? DEFAULT_MAX_PROXY_HEADER_BYTES;
    if (!Number.isInteger(max) || max < MIN_MAX_PROXY_HEADER_BYTES || max > PROXY_V2_MAX_HEADER_BYTES) {
      throw new InvalidOptionError('maxHeaderBytes', `a whole number in ${MIN_MAX_PROXY_HEADER_BYTES}..${PROXY_V2_MAX_HEADER_BYTES}`, max);
    }
    this.maxHeaderBytes = max;
  }

  /** What the decoder is waiting for. */
  get state(): ProxyDecoderState {
    return this.currentState;
  }

  /** Header bytes held between pushes: at most 107 (v1) or the v2 header's size. */
  get bufferedBytes(): number {
    return this.heldBytes;
  }

  /** The error that failed the decoder, if any. */
  get error(): ProxyHeaderError | null {
    return this.failure;
  }

  /** The decoded header, once there is one. */
  get header(): ProxyHeader | null {
    return this.decoded;
  }

  /**
   * Decodes `chunk`, the next bytes of the connection. Throws only ProxyDecoderStateError, and only
   * when called after a header came out (the stream after it is not the decoder's).
   */
  push(chunk: Uint8Array): ProxyDecodeResult {
    if (this.currentState === ProxyDecoderState.Done) {
      throw new ProxyDecoderStateError('push after the header was decoded; the rest of the stream is the caller\'s');
    }
    if (this.failure !== null) return { kind: 'error', error: this.failure };
    const input = asBuffer(chunk);
    if (input.length === 0) return NEED_MORE;
    if (this.heldBytes === 0) {
      // Fast path: judge the chunk in place; copy only if the header goes on in a later chunk.
      const measure = measureProxyHeader(input, this.maxHeaderBytes);
      if (measure.kind !== 'need-more') return this.conclude(input, measure, input, 0);
      this.hold(input, 0, input.length, measure);
      return NEED_MORE;
    }
    let pos = 0;
    for (;;) {
      const take = Math.min(this.room(), input.length - pos);
      const held = this.held as Buffer;
      input.copy(held, this.heldBytes, pos, pos + take);
      this.heldBytes += take;
      pos += take;
      const gathered = held.subarray(0, this.heldBytes);
      const measure = measureProxyHeader(gathered, this.maxHeaderBytes);
      // Bytes gathered past the header's end all came from this chunk: the header ends in it.
      if (measure.kind !== 'need-more') return this.conclude(gathered, measure, input, pos - this.heldBytes);
      this.enter(measure);
      if (pos === input.length) return NEED_MORE;
    }
  }

  /**
   * Ends the wait for a header without one: the peer ended its input (`end`) or the caller's header
   * deadline passed (`deadline`). Fails the decoder and returns the error to report; if it had
   * already failed, returns that error. Throws ProxyDecoderStateError after a header came out.
   */
  end(ending: 'end' | 'deadline' = 'end'): ProxyHeaderError {
    if (this.currentState === ProxyDecoderState.Done) throw new ProxyDecoderStateError('end after the header was decoded');
    if (this.failure !== null) return this.failure;
    return this.fail(new ProxyHeaderIncompleteError(this.heldBytes, ending));
  }

  /** Bytes the header may still take into `held` before the decoder must judge again. */
  private room(): number {
    if (this.expectedBytes !== undefined) return this.expectedBytes - this.heldBytes;
    return (this.version === 2 ? PROXY_V2_FIXED_BYTES : PROXY_V1_MAX_BYTES) - this.heldBytes;
  }

  private enter(measure: Extract<ProxyMeasure, { kind: 'need-more' }>): void {
    this.currentState = measure.state;
    this.version = measure.version;
    if (measure.byteLength !== undefined && this.expectedBytes === undefined) {
      this.expectedBytes = measure.byteLength;
      this.reserve(measure.byteLength);
    }
  }

  private hold(input: Buffer, from: number, to: number, measure: Extract<ProxyMeasure, { kind: 'need-more' }>): void {
    this.reserve(Math.max(PROXY_V1_MAX_BYTES, measure.byteLength ?? 0));
    input.copy(this.held as Buffer, this.heldBytes, from, to);
    this.heldBytes += to - from;
    this.enter(measure);
  }

  private reserve(bytes: number): void {
    if (this.held !== null && this.held.length >= bytes) return;
    const grown = Buffer.allocUnsafe(bytes);
    if (this.held !== null) this.held.copy(grown, 0, 0, this.heldBytes);
    this.held = grown;
  }

  /**
   * Finishes on a complete or failed measure of `bytes` (the header's bytes from its start); the
   * header ends in `input`, whose bytes before `inputStart` were header bytes held earlier.
   */
  private conclude(bytes: Buffer, measure: Exclude<ProxyMeasure, { kind: 'need-more' }>, input: Buffer, inputStart: number): ProxyDecodeResult {
    if (measure.kind === 'error') return { kind: 'error', error: this.fail(measure.error) };
    const parsed = parseMeasured(bytes, measure);
    if (parsed instanceof ProxyHeaderError) return { kind: 'error', error: this.fail(parsed) };
    this.currentState = ProxyDecoderState.Done;
    this.decoded = parsed;
    this.release();
    return { kind: 'header', header: parsed, rest: input.subarray(inputStart + measure.byteLength) };
  }

  private fail(error: ProxyHeaderError): ProxyHeaderError {
    this.failure = error;
    this.currentState = ProxyDecoderState.Failed;
    this.release();
    return error;
  }

  private release(): void {
    this.held = null;
    this.heldBytes = 0;
  }
}
