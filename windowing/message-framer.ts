/**
 * Message boundaries in a byte stream, for the message-aware overflow strategies (drop, spill):
 * they may only ever discard or set aside whole messages, so they must know where one ends.
 *
 *   chunk, chunk, ... --push--> [partial] --> whole messages (views, or one copy if spanning)
 *                                   |
 *                           limit checked here, before the rest of the message is awaited
 */

/** The framings `--messages` accepts (a choice of ours, like the names). */
export const MESSAGE_FRAMINGS = ['lines', 'u32be'] as const;

/** `lines`: each message ends with '\n'. `u32be`: each message is a 4-byte big-endian length, then that many bytes. */
export type MessageFraming = (typeof MESSAGE_FRAMINGS)[number];

/** Default `--max-message`: 1 MiB, the default. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** Largest `--max-message`: the most a u32be prefix can say. */
export const MAX_MESSAGE_LIMIT_BYTES = 0xffffffff;

/** Size of the u32be length prefix (fixed by the framing). */
export const U32BE_PREFIX_BYTES = 4;

/** The byte that ends a message in `lines` framing ('\n'; a '\r' before it is part of the message). */
export const LINE_TERMINATOR = 0x0a;

// Smallest accumulator for a message that spans chunks; it doubles from here as bytes arrive, so a
// peer that announces a large message but sends little of it costs us little.
const MIN_SPAN_CAPACITY = 256;

/** Options of a framer. */
export interface MessageFramerOptions {
  framing: MessageFraming;
  /**
   * Longest message body allowed, in bytes: a line without its '\n', or the length a u32be
   * prefix declares (the prefix itself not counted). Default 1 MiB.
   */
  maxMessageBytes?: number;
}

/** A message longer than `--max-message`: the connection is closed, nothing of it is forwarded. */
export class MessageTooLargeError extends Error {
  readonly code = 'SLUICE_MESSAGE_TOO_LARGE';
  constructor(
    readonly framing: MessageFraming,
    /** The limit in force (`maxMessageBytes`). */
    readonly limitBytes: number,
    /** u32be: the length the prefix declared. lines: how many bytes of the line were seen without a '\n' (limit + 1 at least). */
    readonly sizeBytes: number,
  ) {
    super(
      framing === 'u32be'
        ? `u32be length prefix declares ${sizeBytes} bytes, over the --max-message limit of ${limitBytes}`
        : `line longer than the --max-message limit of ${limitBytes} bytes (at least ${sizeBytes} before its newline)`,
    );
    this.name = 'MessageTooLargeError';
  }
}

/**
 * What was left when the input ended:
 * - `none`: it ended on a message boundary;
 * - `message`: lines only: a last line without its '\n'. It is delivered as it is (no newline
 *   added, so forwarding stays byte-identical): the end of the stream ends the line, as it does
 *   for most line readers, and losing the last log line would be worse;
 * - `incomplete`: u32be only: a prefix or body cut short. It is not a whole message, so it is
 *   never delivered; the caller counts it as dropped.
 */
export type FramerEnd =
  | { kind: 'none' }
  | { kind: 'message'; message: Buffer }
  | { kind: 'incomplete'; bytes: number };

const END_NONE: FramerEnd = Object.freeze({ kind: 'none' });

/**
 * Incremental splitter of a byte stream into whole messages, with a size limit checked as early
 * as possible: from the prefix (u32be), or as soon as a line without a newline passes the limit.
 * Each message is returned as the exact bytes to forward (its '\n' or its prefix included).
 * A message inside one chunk is a view of that chunk; only one that spans chunks is copied, into
 * an accumulator that grows with the bytes actually received. At most one partial message is held.
 */
export class MessageFramer {
  readonly framing: MessageFraming;
  readonly maxMessageBytes: number;
  /** Set once a message breaks the limit; after that the framer takes no more input. */
  error: MessageTooLargeError | null = null;
  /** Whole messages returned so far. */
  messages = 0;

  // The partial message: bytes [0, spanLength) of `span`.
  private span: Buffer | null = null;
  private spanLength = 0;
  // u32be: total size (prefix + body) of the partial message once its prefix is known, else -1.
  private expected = -1;

  constructor(options: MessageFramerOptions) {
    if (!(MESSAGE_FRAMINGS as readonly string[]).includes(options.framing)) {
      throw new RangeError(`framing must be one of ${MESSAGE_FRAMINGS.join(', ')}, got ${String(options.framing)}`);
    }
    const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isSafeInteger(max) || max < 1 || max > MAX_MESSAGE_LIMIT_BYTES) {
      throw new RangeError(`maxMessageBytes must be a whole number from 1 to ${MAX_MESSAGE_LIMIT_BYTES}, got ${max}`);
    }
    this.framing = options.framing;
    this.maxMessageBytes = max;
  }

  /** Bytes of the partial message held, waiting for the rest. */
  get bufferedBytes(): number {
    return this.spanLength;
  }

  /**
   * Adds a chunk and returns the messages it completes, in order. If a message breaks the limit,
   * returns the whole messages before it and sets `error`; later calls return nothing.
   */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    if (this.error !== null || chunk.length === 0) return out;
    if (this.framing === 'lines') this.pushLines(chunk, out);
    else this.pushU32(chunk, out);
    this.messages += out.length;
    return out;
  }

  /** Ends the input: reports what remained (see `FramerEnd`) and clears it. */
  finish(): FramerEnd {
    const held = this.spanLength;
    const span = this.span;
    this.reset();
    if (this.error !== null || held === 0 || span === null) return END_NONE;
    if (this.framing === 'lines') {
      this.messages++;
      return { kind: 'message', message: span.subarray(0, held) };
    }
    return { kind: 'incomplete', bytes: held };
  }

  private pushLines(chunk: Buffer, out: Buffer[]): void {
    const max = this.maxMessageBytes;
    let start = 0;
    if (this.spanLength > 0) {
      const nl = chunk.indexOf(LINE_TERMINATOR);
      const contentBytes = this.spanLength + (nl === -1 ? chunk.length : nl);
      if (contentBytes > max) return this.fail(contentBytes);
      if (nl === -1) {
        this.append(chunk, 0, chunk.length, 0);
        return;
      }
      this.append(chunk, 0, nl + 1, 0);
      out.push(this.takeSpan());
      start = nl + 1;
    }
    while (start < chunk.length) {
      const nl = chunk.indexOf(LINE_TERMINATOR, start);
      const end = nl === -1 ? chunk.length : nl;
      if (end - start > max) return this.fail(end - start);
      if (nl === -1) {
        this.append(chunk, start, chunk.length, 0);
        return;
      }
      out.push(chunk.subarray(start, nl + 1));
      start = nl + 1;
    }
  }

  private pushU32(chunk: Buffer, out: Buffer[]): void {
    let start = 0;
    if (this.spanLength > 0) {
      // Complete the prefix first, then the body, copying into the accumulator.
      if (this.expected === -1) {
        const take = Math.min(U32BE_PREFIX_BYTES - this.spanLength, chunk.length);
        this.append(chunk, 0, take, U32BE_PREFIX_BYTES);
        start = take;
        if (this.spanLength < U32BE_PREFIX_BYTES) return;
        const declared = this.span!.readUInt32BE(0);
        if (declared > this.maxMessageBytes) return this.fail(declared);
        this.expected = U32BE_PREFIX_BYTES + declared;
      }
      const take = Math.min(this.expected - this.spanLength, chunk.length - start);
      this.append(chunk, start, start + take, this.expected);
      start += take;
      if (this.spanLength < this.expected) return;
      out.push(this.takeSpan());
    }
    while (start < chunk.length) {
      const left = chunk.length - start;
      if (left < U32BE_PREFIX_BYTES) {
        this.append(chunk, start, chunk.length, U32BE_PREFIX_BYTES);
        return;
      }
      const declared = chunk.readUInt32BE(start);
      if (declared > this.maxMessageBytes) return this.fail(declared);
      const total = U32BE_PREFIX_BYTES + declared;
      if (left < total) {
        this.expected = total;
        this.append(chunk, start, chunk.length, total);
        return;
      }
      out.push(chunk.subarray(start, start + total));
      start += total;
    }
  }

  /** Copies chunk[from, to) onto the partial message; `total` is its final size when known (0 if not). */
  private append(chunk: Buffer, from: number, to: number, total: number): void {
    const need = this.spanLength + (to - from);
    if (this.span === null || this.span.length < need) {
      let capacity = Math.max(MIN_SPAN_CAPACITY, need, (this.span?.length ?? 0) * 2);
      if (total > 0) capacity = Math.min(capacity, Math.max(total, need));
      else capacity = Math.min(capacity, Math.max(this.maxMessageBytes + 1, need));
      const grown = Buffer.allocUnsafe(capacity);
      if (this.span !== null) this.span.copy(grown, 0, 0, this.spanLength);
      this.span = grown;
    }
    chunk.copy(this.span, this.spanLength, from, to);
    this.spanLength = need;
  }

  private takeSpan(): Buffer {
    const message = this.span!.subarray(0, this.spanLength);
    this.reset();
    return message;
  }

  private reset(): void {
    this.span = null;
    this.spanLength = 0;
    this.expected = -1;
  }

  private fail(sizeBytes: number): void {
    this.reset();
    this.error = new MessageTooLargeError(this.framing, this.maxMessageBytes, sizeBytes);
  }
}
