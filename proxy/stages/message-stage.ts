import { MessageFramer, type MessageFraming, type MessageTooLargeError } from '../../windowing/message-framer.js';
import { MessageQueue, type OverflowPolicy } from '../../windowing/message-queue.js';
import type { Holdable, HoldReason, Lender, Stage, StageContext } from '../pipeline/index.js';
import type { SpillSpool } from '../spill/index.js';

/** Message mode for one direction: how messages are framed and what to do when the window is full. */
export interface MessageModeOptions {
  framing: MessageFraming;
  /** Longest message body; a longer one closes the connection (default 1 MiB). */
  maxMessageBytes?: number;
  policy: OverflowPolicy;
  /** Where `spill` puts what does not fit in memory; required for `spill`. */
  spool?: SpillSpool;
}

/** What a message stage reports to the connection that owns it. */
export interface MessageStageEvents {
  /** A message over the limit: what came before it is passed on, then the connection must close. */
  tooLarge(err: MessageTooLargeError): void;
  /** A spill file could not be read back: the messages in it are lost; the connection must fail. */
  readBackFailed(err: Error): void;
}

/**
 * Message framing and the overflow policy, as one stage: bytes are cut into whole messages, and
 * when the window after this stage is full the policy decides (windowing/message-queue.ts): hold
 * the producer back (block), discard whole messages (drop-newest, drop-oldest), or set them aside
 * on disk in order (spill). Nothing is ever truncated or split.
 *
 *   write --> MessageFramer --whole messages--> MessageQueue.offer
 *                                                  | enqueue       | spill        | block
 *                                                  v               v              v
 *   next <--write-- take() <-- [RAM queue]    spool.append    held + upstream.hold('window' | 'disk')
 *     ^                                            |
 *     +---- takeSpilled() <-- spool.read() --------+  (once the RAM queue is empty)
 *
 * Its window covers its queue plus everything after it not yet flushed (later stages and the
 * sink), so it keeps the direction's window itself. It is a gate: a later stage that holds it
 * (a rate) stops the messages leaving the queue, and the policy then deals with the surplus.
 */
export class MessageStage implements Stage {
  readonly takesLeases = false; // the framer keeps views of chunks
  readonly emitsBursts = true;
  readonly queue: MessageQueue<Buffer>;
  /** Why the connection must close, if a message broke the limit. */
  tooLarge: MessageTooLargeError | null = null;
  /** Held by what follows: messages stay queued while anything holds it. */
  readonly gate: Holdable;
  private readonly framer: MessageFramer;
  private readonly spool: SpillSpool | undefined;
  private readonly outputHolds = new Set<object>();
  private readonly held: Buffer[] = [];
  private heldMessageBytes = 0;
  // Records read back from the spool, waiting for room; the oldest messages there are.
  private ready: Buffer[] = [];
  private readyAt = 0;
  private readyBytes = 0;
  private readyLender: Lender | null = null;
  private context!: StageContext;
  private holdingUpstream = false;
  private inputEnded = false;
  private readingBack = false;
  private waitingForDisk = false;
  private closed = false;
  private ended = false;

  constructor(
    options: MessageModeOptions,
    /** The queue's window until the stage is attached; from then on it follows the direction's (StageContext.windowBytes). */
    windowBytes: number,
    private readonly events: MessageStageEvents,
  ) {
    if (options.policy === 'spill' && !options.spool) throw new RangeError('the spill policy needs a spool');
    this.framer = new MessageFramer({ framing: options.framing, ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}) });
    this.queue = new MessageQueue({ policy: options.policy, windowBytes: Math.max(1, windowBytes) });
    this.spool = options.spool;
    this.gate = {
      hold: (holder) => this.outputHolds.add(holder),
      release: (holder) => {
        if (this.outputHolds.delete(holder) && this.outputHolds.size === 0) this.pumpOut();
      },
    };
  }

  /** Bytes held in RAM here: held back, queued, a partial message, and the spool's write batch. */
  get heldBytes(): number {
    return this.heldMessageBytes + this.readyBytes + this.queue.queuedBytes + this.framer.bufferedBytes + (this.spool?.bufferedBytes ?? 0);
  }

  attach(context: StageContext): void {
    this.context = context;
  }

  write(chunk: Buffer): void {
    if (this.inputEnded || this.closed) return;
    // The window is taken from the direction once per read and per flush, not per message: it
    // moves with the memory budget, which a read or a flush changes, and asking costs a tenth of
    // message-mode throughput when asked for each of a read's hundreds of messages.
    this.followWindow();
    // The policy must see the window as it is when a message arrives, not with the rest of its
    // read chunk queued in front of it (a chunk larger than the window would otherwise look like a
    // full window to an idle target): what waits is handed on before a message that would not fit
    // behind it. Only then: pumping after every message cost a tenth of message-mode throughput.
    const queue = this.queue;
    for (const message of this.framer.push(chunk)) {
      if (queue.queuedMessages > 0 && queue.usedBytes + message.length > queue.windowBytes) this.pumpOut();
      this.arrive(message);
    }
    if (this.framer.error) return this.fail(this.framer.error);
    this.pumpOut();
  }

  end(): void {
    if (this.inputEnded) return;
    this.followWindow();
    const last = this.framer.finish();
    if (last.kind === 'message') this.arrive(last.message);
    else if (last.kind === 'incomplete') this.queue.recordDrop('incomplete');
    this.inputEnded = true;
    this.pumpOut();
  }

  drained(): void {
    if (this.closed) return;
    this.followWindow();
    this.settleInFlight();
    this.retryHeld();
    this.pumpOut();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.held.length = 0;
    this.heldMessageBytes = 0;
    this.ready = [];
    this.readyBytes = 0;
    this.queue.close();
    void this.spool?.close();
  }

  private arrive(message: Buffer): void {
    if (this.held.length > 0) {
      this.hold(message);
      return;
    }
    const decision = this.offer(message);
    if (decision !== null) {
      this.hold(message);
      this.holdUpstream(decision);
    }
  }

  private hold(message: Buffer): void {
    this.held.push(message);
    this.heldMessageBytes += message.length;
  }

  // Offers one message; null when taken (queued, dropped or spilled), else why it must wait.
  private offer(message: Buffer): HoldReason | null {
    const decision = this.queue.offer(message, this.spool ? this.spool.canAppend(message.length) === 'ok' : false);
    switch (decision.action) {
      case 'enqueue':
      case 'drop':
        return null;
      case 'spill':
        this.spool!.append(message);
        return null;
      case 'block':
        if (this.spool && this.spool.canAppend(message.length) === 'busy') {
          this.waitForDisk();
          return 'disk';
        }
        return 'window';
    }
  }

  private holdUpstream(reason: HoldReason): void {
    this.holdingUpstream = true;
    this.context.upstream.hold(this, reason);
  }

  private retryHeld(): void {
    if (this.held.length > 0) this.followWindow();
    while (this.held.length > 0 && this.queue.shouldRetry) {
      const reason = this.offer(this.held[0]!);
      if (reason !== null) {
        this.holdUpstream(reason);
        return;
      }
      this.heldMessageBytes -= this.held.shift()!.length;
    }
    if (this.held.length === 0 && this.holdingUpstream && !this.closed) {
      this.holdingUpstream = false;
      this.context.upstream.release(this);
    }
  }

  private waitForDisk(): void {
    if (this.waitingForDisk) return;
    this.waitingForDisk = true;
    void this.spool!.whenWritable().then(() => {
      this.waitingForDisk = false;
      if (this.closed) return;
      this.retryHeld();
      this.pumpOut();
    });
  }

  // In flight is what is still after this stage (later stages and the sink): bytes flushed or
  // discarded after it leave the window. True when some did.
  private settleInFlight(): boolean {
    const gone = this.queue.inFlightBytes - this.context.pendingAfter();
    if (gone <= 0) return false;
    this.queue.sinkFlushed(gone);
    return true;
  }

  private room(): boolean {
    return this.outputHolds.size === 0 && this.context.pendingAfter() < this.queue.windowBytes;
  }

  // The queue decides against the direction's window as it is now, which the memory budget shrinks
  // as it fills: with a fixed window, many slow connections' queues together outgrow the budget.
  private followWindow(): number {
    const windowBytes = Math.max(1, this.context.windowBytes());
    if (windowBytes !== this.queue.windowBytes) this.queue.resize(windowBytes);
    return windowBytes;
  }

  // Moves messages on while there is room (records read back first: while anything is spilled,
  // the RAM queue stays empty), and reads spilled ones back once memory is empty.
  private pumpOut(): void {
    if (this.closed) return;
    while (this.readyAt < this.ready.length && this.room()) {
      const record = this.ready[this.readyAt++]!;
      this.readyBytes -= record.length;
      this.queue.takeSpilled(record.length);
      this.context.next.write(record, this.readyLender);
    }
    if (this.readyAt === this.ready.length && this.ready.length > 0) {
      this.ready = [];
      this.readyAt = 0;
      this.readyLender = null;
    }
    if (this.settleInFlight()) this.retryHeld();
    while (this.queue.queuedMessages > 0 && this.room()) {
      for (let m = this.queue.take(); m; m = this.room() ? this.queue.take() : undefined) this.context.next.write(m, null);
      // A later stage may have discarded what it was given (a drop toxic) and never write it to the
      // sink: no flush would ever come for those bytes, and the window would stay full for good.
      if (!this.settleInFlight()) break;
      this.retryHeld();
    }
    if (this.ready.length === 0 && this.queue.queuedMessages === 0 && this.queue.backlogMessages > 0 && this.room()) this.readBack();
    this.maybeEnd();
  }

  private readBack(): void {
    if (this.readingBack || !this.spool) return;
    this.readingBack = true;
    const room = Math.max(1, this.followWindow() - this.context.pendingAfter());
    this.spool.read(room).then(
      (batch) => {
        this.readingBack = false;
        if (this.closed) return;
        if (batch.length > 0) {
          this.ready = batch;
          this.readyAt = 0;
          for (const record of batch) this.readyBytes += record.length;
          // The read buffers go back to the spool once the last record of the batch is flushed.
          this.readyLender = batchLender(this.spool!, batch);
        }
        this.retryHeld();
        this.pumpOut();
      },
      (err: Error) => {
        this.readingBack = false;
        this.events.readBackFailed(err);
      },
    );
  }

  private maybeEnd(): void {
    if (this.ended || !this.inputEnded) return;
    if (this.held.length > 0 || this.ready.length > 0 || this.queue.queuedMessages > 0 || this.queue.backlogMessages > 0 || this.readingBack) return;
    this.ended = true;
    this.context.next.end();
  }

  private fail(err: MessageTooLargeError): void {
    if (this.tooLarge) return;
    this.tooLarge = err;
    this.queue.recordDrop('too-large');
    // Deliver what came before it, then close: no more input is taken from this producer.
    this.inputEnded = true;
    this.pumpOut();
    this.events.tooLarge(err);
  }
}

// Gives a read-back batch to the spool once every record of it was flushed (or failed).
function batchLender(spool: SpillSpool, batch: Buffer[]): Lender {
  let left = batch.length;
  return {
    giveBack: () => {
      if (--left === 0) spool.release(batch);
    },
    slackOf: () => 0,
  };
}
