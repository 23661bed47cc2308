/**
 * The decisions of a bounded message queue between a producer and a slow target, for message
 * mode: what to do with each arriving message when the window toward the target is full.
 * It holds the messages waiting in memory and keeps exact counts; the disk side of `spill` is
 * elsewhere (it only decides that a message goes there and keeps count of the backlog).
 *
 *   offer(m) --enqueue--> [ queued (memory) ] --take()--------> in flight --sinkFlushed(n)--> target
 *       |                                                          ^
 *       +--spill--> [ backlog on disk ] --read back--takeSpilled()-+   (only once memory is empty)
 *       +--drop / block (the caller holds m and pauses the producer, then offers m again)
 */

/** The answers `--overflow` accepts: what happens when the window toward the target is full. */
export const OVERFLOW_POLICIES = ['block', 'drop-newest', 'drop-oldest', 'spill'] as const;

/** An overflow policy; `block` is the default and the only one that works without message boundaries. */
export type OverflowPolicy = (typeof OVERFLOW_POLICIES)[number];

/**
 * Why whole messages were discarded: the `reason` label of `sluice_messages_dropped_total`.
 * `drop-newest`, `drop-oldest`: the policy did it. `too-large`: over `--max-message` (the connection
 * is closed). `incomplete`: a u32be message cut short by the end of input. `closed`: still queued
 * or spilled when the connection went away. `toxic`: a `drop` toxic did it, after the queue.
 */
export const DROP_REASONS = ['drop-newest', 'drop-oldest', 'too-large', 'incomplete', 'closed', 'toxic'] as const;

/** One of `DROP_REASONS`. */
export type DropReason = (typeof DROP_REASONS)[number];

/**
 * What to do with an offered message:
 * - `enqueue`: it is now queued in memory; `evicted` older queued messages were discarded for it;
 * - `drop`: discard it (drop-newest);
 * - `spill`: write it to the spill store (it counts as backlog from now on);
 * - `block`: no room anywhere: keep it (and everything after it), pause the producer, and offer
 *   it again later; the queue says when with `shouldRetry`.
 */
export type OfferDecision =
  | { readonly action: 'enqueue'; readonly evicted: number }
  | { readonly action: 'drop' }
  | { readonly action: 'spill' }
  | { readonly action: 'block' };

const ENQUEUE: OfferDecision = Object.freeze({ action: 'enqueue', evicted: 0 });
const DROP: OfferDecision = Object.freeze({ action: 'drop' });
const SPILL: OfferDecision = Object.freeze({ action: 'spill' });
const BLOCK: OfferDecision = Object.freeze({ action: 'block' });

// Compact the queue's array once this many slots at its head are spent (amortised O(1) shift).
const COMPACT_AFTER = 1024;

/** Options of a message queue. */
export interface MessageQueueOptions {
  policy: OverflowPolicy;
  /** Bytes allowed in memory toward the target: queued plus handed to the sink and not yet flushed (see `resize`). */
  windowBytes: number;
  /** After a `block`, offers are refused until the bytes in memory fall to this; defaults to half the window (and follows it). */
  lowBytes?: number;
}

/** Something with a size in bytes (a Buffer, in practice). */
export interface Sized {
  readonly length: number;
}

/**
 * A bounded FIFO of whole messages under a byte window, and the policy that decides for each
 * offered message. The window counts bytes queued here plus bytes handed to the sink and not yet
 * flushed (`inFlightBytes`), so memory stays bounded even when the sink stalls.
 *
 * A message that does not fit is still admitted when no other message is waiting in memory (bytes
 * in flight don't count): a message larger than the window, or one arriving while the sink holds
 * most of it, is never refused for ever. The window is then exceeded by that one message at most.
 *
 * For `spill`, memory fills first; once anything is spilled, every later message goes to disk too
 * until the whole backlog has been read back, and the backlog is read back only after memory has
 * emptied, so the order of delivery is the order of arrival.
 */
export class MessageQueue<T extends Sized = Buffer> {
  readonly policy: OverflowPolicy;

  /** Messages offered, plus those counted by `recordDrop`. */
  offered = 0;
  /** Messages handed to the sink (`take` and `takeSpilled`). */
  forwarded = 0;
  /** Bytes handed to the sink. */
  forwardedBytes = 0;
  /** Messages discarded, by reason. */
  readonly dropped: Record<DropReason, number> = { 'drop-newest': 0, 'drop-oldest': 0, 'too-large': 0, incomplete: 0, closed: 0, toxic: 0 };
  /** Messages ever sent to the spill store. */
  spilled = 0;
  /** Bytes ever sent to the spill store. */
  spilledBytes = 0;
  /** How many times an offer was answered `block`. */
  blocks = 0;

  private readonly items: (T | undefined)[] = [];
  private head = 0;
  private queued = 0;
  private inFlight = 0;
  private backlog = 0;
  private backlogSize = 0;
  private blocked = false;
  private window: number;
  private low: number;
  private readonly givenLowBytes: number | undefined;

  constructor(options: MessageQueueOptions) {
    if (!(OVERFLOW_POLICIES as readonly string[]).includes(options.policy)) {
      throw new RangeError(`policy must be one of ${OVERFLOW_POLICIES.join(', ')}, got ${String(options.policy)}`);
    }
    const { windowBytes } = options;
    if (!Number.isSafeInteger(windowBytes) || windowBytes < 1) {
      throw new RangeError(`windowBytes must be a whole number >= 1, got ${windowBytes}`);
    }
    const lowBytes = options.lowBytes ?? Math.floor(windowBytes / 2);
    if (!Number.isSafeInteger(lowBytes) || lowBytes < 0 || lowBytes >= windowBytes) {
      throw new RangeError(`lowBytes must be a whole number >= 0 and below windowBytes (${windowBytes}), got ${lowBytes}`);
    }
    this.policy = options.policy;
    this.window = windowBytes;
    this.low = lowBytes;
    this.givenLowBytes = options.lowBytes;
  }

  /** The window now (see `resize`). */
  get windowBytes(): number {
    return this.window;
  }

  /** The low mark now: as given, else half the window. */
  get lowBytes(): number {
    return this.low;
  }

  /**
   * Sets the window for the offers that follow (a memory budget shrinks it as it fills, and lets it
   * grow back). Nothing queued is discarded for it: a smaller window only takes effect as what is
   * in memory drains, or as drop-oldest makes room for the next message. The low mark follows
   * (half the window, or the one given, kept below the window).
   */
  resize(windowBytes: number): void {
    if (!Number.isSafeInteger(windowBytes) || windowBytes < 1) {
      throw new RangeError(`windowBytes must be a whole number >= 1, got ${windowBytes}`);
    }
    this.window = windowBytes;
    this.low = Math.min(this.givenLowBytes ?? Math.floor(windowBytes / 2), windowBytes - 1);
  }

  /** Messages waiting in memory. */
  get queuedMessages(): number {
    return this.items.length - this.head;
  }

  /** Bytes waiting in memory. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** Bytes handed to the sink and not yet reported flushed. */
  get inFlightBytes(): number {
    return this.inFlight;
  }

  /** Bytes the window holds now: queued plus in flight. */
  get usedBytes(): number {
    return this.queued + this.inFlight;
  }

  /** Bytes the window has room for now (0 when full or over). */
  get roomBytes(): number {
    return Math.max(0, this.windowBytes - this.usedBytes);
  }

  /** Spilled messages not yet read back. */
  get backlogMessages(): number {
    return this.backlog;
  }

  /** Bytes of spilled messages not yet read back. */
  get backlogBytes(): number {
    return this.backlogSize;
  }

  /** Messages discarded for any reason. */
  get droppedTotal(): number {
    let total = 0;
    for (const reason of DROP_REASONS) total += this.dropped[reason];
    return total;
  }

  /** True between a `block` answer and the offer that is finally accepted. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /**
   * True when a held message is worth offering again: not blocked, or memory fell to the low mark,
   * or (spill) the disk may have room again; the offer itself has the last word.
   */
  get shouldRetry(): boolean {
    return !this.blocked || this.usedBytes <= this.lowBytes || this.policy === 'spill';
  }

  /**
   * Decides for an arriving message. `diskHasRoom` says whether the spill store would take it
   * now (only looked at by `spill`); when it would not, `spill` falls back to `block`.
   */
  offer(message: T, diskHasRoom = false): OfferDecision {
    const size = message.length;
    if (this.blocked) {
      if (this.usedBytes <= this.lowBytes || (this.policy === 'spill' && diskHasRoom)) this.blocked = false;
      else return this.block();
    }
    if (this.policy === 'spill' && this.backlog > 0) {
      return diskHasRoom ? this.spill(size) : this.block();
    }
    if (this.usedBytes + size <= this.windowBytes || this.queuedMessages === 0) return this.enqueue(message);
    switch (this.policy) {
      case 'block':
        return this.block();
      case 'drop-newest':
        this.offered++;
        this.dropped['drop-newest']++;
        return DROP;
      case 'drop-oldest': {
        let evicted = 0;
        while (this.queuedMessages > 0 && this.usedBytes + size > this.windowBytes) {
          this.shift();
          evicted++;
        }
        this.dropped['drop-oldest'] += evicted;
        this.enqueue(message);
        return evicted === 0 ? ENQUEUE : { action: 'enqueue', evicted };
      }
      case 'spill':
        return diskHasRoom ? this.spill(size) : this.block();
    }
  }

  /** The next message for the sink, oldest first (it now counts as in flight); undefined when none waits in memory. */
  take(): T | undefined {
    if (this.queuedMessages === 0) return undefined;
    const message = this.shift();
    this.inFlight += message.length;
    this.forwarded++;
    this.forwardedBytes += message.length;
    return message;
  }

  /**
   * Records that the oldest spilled message, `size` bytes read back from disk, was handed to the
   * sink (it now counts as in flight). Only valid once memory is empty, which keeps the order.
   */
  takeSpilled(size: number): void {
    if (this.backlog === 0) throw new RangeError('takeSpilled: nothing is spilled');
    if (this.queuedMessages > 0) throw new RangeError('takeSpilled: messages queued in memory go first');
    if (!Number.isSafeInteger(size) || size < 0 || size > this.backlogSize) {
      throw new RangeError(`takeSpilled: size must be a whole number from 0 to ${this.backlogSize}, got ${size}`);
    }
    this.backlog--;
    this.backlogSize -= size;
    this.inFlight += size;
    this.forwarded++;
    this.forwardedBytes += size;
  }

  /** The sink flushed `bytes` onward: they leave the window. */
  sinkFlushed(bytes: number): void {
    this.inFlight = Math.max(0, this.inFlight - bytes);
  }

  /** Counts `count` messages that never reached the queue (over the limit, or cut short at the end). */
  recordDrop(reason: 'too-large' | 'incomplete', count = 1): void {
    this.offered += count;
    this.dropped[reason] += count;
  }

  /**
   * The connection is gone: everything still queued or spilled is counted as dropped (`closed`)
   * and forgotten. Returns how many messages and bytes that was.
   */
  close(): { messages: number; bytes: number } {
    const messages = this.queuedMessages + this.backlog;
    const bytes = this.queued + this.backlogSize;
    this.dropped.closed += messages;
    this.items.length = 0;
    this.head = 0;
    this.queued = 0;
    this.backlog = 0;
    this.backlogSize = 0;
    this.blocked = false;
    return { messages, bytes };
  }

  private enqueue(message: T): OfferDecision {
    this.offered++;
    this.items.push(message);
    this.queued += message.length;
    return ENQUEUE;
  }

  private spill(size: number): OfferDecision {
    this.offered++;
    this.spilled++;
    this.spilledBytes += size;
    this.backlog++;
    this.backlogSize += size;
    return SPILL;
  }

  private block(): OfferDecision {
    this.blocked = true;
    this.blocks++;
    return BLOCK;
  }

  private shift(): T {
    const message = this.items[this.head]!;
    this.items[this.head] = undefined;
    this.head++;
    this.queued -= message.length;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return message;
  }
}
