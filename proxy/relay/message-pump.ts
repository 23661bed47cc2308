import type { Readable, Writable } from 'node:stream';
import {
  DirectionWindow,
  MessageFramer,
  MessageQueue,
  type MessageFraming,
  type MessageTooLargeError,
  type OverflowPolicy,
} from '../../windowing/index.js';
import type { DirectionPump } from './pump.js';
import type { SpillSpool } from '../spill/spill-store.js';

/** Message mode for one direction: how messages are framed and what to do when the window is full. */
export interface MessageModeOptions {
  framing: MessageFraming;
  /** Longest message body; a longer one closes the connection (default 1 MiB). */
  maxMessageBytes?: number;
  policy: OverflowPolicy;
  /** Where `spill` puts what does not fit in memory; required for `spill`. */
  spool?: SpillSpool;
}

/**
 * One direction of a relay in message mode: bytes are cut into whole messages, and when the
 * window toward the sink is full the overflow policy decides (windowing/message-queue.ts):
 * hold the producer back (block), discard whole messages (drop-newest, drop-oldest), or set them
 * aside on disk in order (spill). Nothing is ever truncated or split.
 *
 *   source --data--> MessageFramer --whole messages--> MessageQueue.offer
 *                                                         | enqueue      | spill       | block
 *                                                         v              v             v
 *   sink <--cork/write/uncork-- take() <-- [RAM queue]  spool.append   held + pause source
 *                   ^                                      |
 *                   +---- takeSpilled() <-- spool.read() --+  (once the RAM queue is empty)
 */
export class MessagePump implements DirectionPump {
  bytesRead = 0;
  ended = false;
  /** Why the connection must close, if a message broke the limit. */
  tooLarge: MessageTooLargeError | null = null;
  readonly queue: MessageQueue<Buffer>;
  private readonly framer: MessageFramer;
  private readonly spool: SpillSpool | undefined;
  private readonly held: Buffer[] = [];
  private inputEnded = false;
  private readingBack = false;
  private waitingForDisk = false;
  private stopped = false;

  constructor(
    private readonly source: Readable,
    private readonly sink: Writable,
    readonly window: DirectionWindow,
    options: MessageModeOptions,
    private readonly now: () => number,
    private readonly onTooLarge: (err: MessageTooLargeError) => void,
  ) {
    if (options.policy === 'spill' && !options.spool) throw new RangeError('the spill policy needs a spool');
    this.framer = new MessageFramer({ framing: options.framing, ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}) });
    this.queue = new MessageQueue({ policy: options.policy, windowBytes: Math.max(1, window.watermark.highBytes) });
    this.spool = options.spool;
  }

  /** Bytes held in RAM toward the sink: held back, queued, unflushed, and the spool's write batch. */
  get queuedBytes(): number {
    let held = 0;
    for (const m of this.held) held += m.length;
    return held + this.queue.queuedBytes + this.sink.writableLength + this.framer.bufferedBytes + (this.spool?.bufferedBytes ?? 0);
  }

  get deliveredBytes(): number {
    return this.queue.forwardedBytes - this.sink.writableLength;
  }

  start(): void {
    this.source.on('data', this.onData);
    this.source.once('end', this.onEnd);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.held.length = 0;
    this.queue.close();
    void this.spool?.close();
    this.window.release();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.bytesRead += chunk.length;
    for (const message of this.framer.push(chunk)) this.arrive(message);
    if (this.framer.error) return this.fail(this.framer.error);
    this.pumpSink();
  };

  private readonly onEnd = (): void => {
    const last = this.framer.finish();
    if (last.kind === 'message') this.arrive(last.message);
    else if (last.kind === 'incomplete') this.queue.recordDrop('incomplete');
    this.inputEnded = true;
    this.pumpSink();
  };

  private arrive(message: Buffer): void {
    if (this.held.length > 0) {
      this.held.push(message);
      return;
    }
    if (!this.offer(message)) {
      this.held.push(message);
      this.source.pause();
      this.window.markPaused(this.now());
    }
  }

  // Offers one message; false means the queue said block (the caller holds it).
  private offer(message: Buffer): boolean {
    const decision = this.queue.offer(message, this.spool ? this.spool.canAppend(message.length) === 'ok' : false);
    switch (decision.action) {
      case 'enqueue':
      case 'drop':
        return true;
      case 'spill':
        this.spool!.append(message);
        return true;
      case 'block':
        if (this.spool && this.spool.canAppend(message.length) === 'busy') this.waitForDisk();
        return false;
    }
  }

  private retryHeld(): void {
    while (this.held.length > 0 && this.queue.shouldRetry) {
      if (!this.offer(this.held[0]!)) return;
      this.held.shift();
    }
    if (this.held.length === 0 && this.window.isPaused && !this.stopped) {
      this.window.markResumed(this.now());
      this.source.resume();
    }
  }

  private waitForDisk(): void {
    if (this.waitingForDisk) return;
    this.waitingForDisk = true;
    void this.spool!.whenWritable().then(() => {
      this.waitingForDisk = false;
      if (this.stopped) return;
      this.retryHeld();
      this.pumpSink();
    });
  }

  // Moves queued messages to the sink while it has room, reads spilled ones back once memory is empty.
  private pumpSink(): void {
    if (this.stopped) return;
    const room = (): boolean => this.sink.writableLength < this.queue.windowBytes;
    if (this.queue.queuedMessages > 0 && room()) {
      this.sink.cork();
      for (let m = this.queue.take(); m; m = room() ? this.queue.take() : undefined) this.sink.write(m, this.onFlushed);
      this.sink.uncork();
    }
    if (this.queue.queuedMessages === 0 && this.queue.backlogMessages > 0 && room()) this.readBack();
    this.window.charge(this.queuedBytes);
    this.maybeEnd();
  }

  private readBack(): void {
    if (this.readingBack || !this.spool) return;
    this.readingBack = true;
    const room = Math.max(1, this.queue.windowBytes - this.sink.writableLength);
    this.spool.read(room).then(
      (batch) => {
        this.readingBack = false;
        if (this.stopped) return;
        if (batch.length > 0) {
          this.sink.cork();
          for (let i = 0; i < batch.length; i++) {
            this.queue.takeSpilled(batch[i]!.length);
            // The last write's callback hands the read buffers back for reuse.
            this.sink.write(batch[i]!, i === batch.length - 1 ? (err) => this.onBatchFlushed(batch, err) : this.onFlushed);
          }
          this.sink.uncork();
        }
        this.retryHeld();
        this.pumpSink();
      },
      (err: Error) => {
        this.readingBack = false;
        // A spill file that cannot be read back: the messages in it are lost; say so by closing.
        (this.sink as Writable & { destroy(e?: Error): void }).destroy(err);
      },
    );
  }

  private onBatchFlushed(batch: Buffer[], err?: Error | null): void {
    this.spool?.release(batch);
    this.onFlushed(err);
  }

  // One callback for every write: what left the sink leaves the window.
  private readonly onFlushed = (err?: Error | null): void => {
    if (err || this.stopped) return;
    this.queue.sinkFlushed(this.queue.inFlightBytes - this.sink.writableLength);
    this.retryHeld();
    this.pumpSink();
  };

  private maybeEnd(): void {
    if (this.ended || !this.inputEnded) return;
    if (this.held.length > 0 || this.queue.queuedMessages > 0 || this.queue.backlogMessages > 0 || this.readingBack) return;
    this.ended = true;
    this.sink.end();
  }

  private fail(err: MessageTooLargeError): void {
    if (this.tooLarge) return;
    this.tooLarge = err;
    this.queue.recordDrop('too-large');
    // Deliver what came before it, then close: no more input is taken from this producer.
    this.source.off('data', this.onData);
    this.inputEnded = true;
    this.pumpSink();
    this.onTooLarge(err);
  }
}
