import { BufferPool } from '../memory/buffer-pool.js';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MessageFramer, U32BE_PREFIX_BYTES, MAX_MESSAGE_LIMIT_BYTES } from '../../windowing/message-framer.js';
import type { SpillStore } from './spill-store.js';

/**
 * The spilled messages of one connection (see index.ts for the picture):
 *
 *   append(m) --copy--> [write batch] --writev--> segment --read batch--> records --> messages
 *                                                    |
 *                      deleted once fully read back, or when the connection closes
 *
 * Each message is stored as a record: a 4-byte big-endian length, then the message's bytes
 * (framing included), so it comes back whole whatever the `--messages` framing. RAM per
 * connection is one write batch being filled, one being written, and a read batch or two (one
 * still in the sink, one kept for reuse when the caller uses `release`).
 */

/**
 * What `append` answers: `ok` (taken), `full` (budget or disk full: fall back to block), `busy`
 * (a batch is being written and the next one is full too, so the disk is behind: retry after
 * `whenWritable()`).
 */
export type SpillAppend = 'ok' | 'full' | 'busy';

/** Bytes of the record header in front of each stored message. */
export const SPILL_RECORD_HEADER_BYTES = U32BE_PREFIX_BYTES;

// Released read buffers a spool keeps for its next read (one read into while the last one is still in the sink).
const MAX_FREE_READ_BUFFERS = 1;

/** The file operations a segment needs; `fs.promises.FileHandle` has them (tests substitute failing ones). */
export interface SegmentFile {
  writev(buffers: Buffer[], position: number): Promise<{ bytesWritten: number }>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

interface Segment {
  readonly path: string;
  file: SegmentFile | null;
  opening: Promise<SegmentFile> | null;
  /** Bytes on disk. */
  written: number;
  /** Bytes read back. */
  readOffset: number;
  /** No more writes go here (it reached the segment size, or is being deleted). */
  sealed: boolean;
}

/**
 * The spilled messages of one connection, in order: `append` copies a message into the write
 * batch (flushed to the current segment soon after), `read` returns the oldest messages.
 * Not for concurrent readers: one `read` at a time.
 */
export class SpillSpool {
  /** Messages appended and not yet read back. */
  backlogMessages = 0;
  /** Bytes of those messages (records' headers not counted). */
  backlogBytes = 0;
  /** The write failure that turned this spool "full", until its backlog is read back; null when none. */
  diskError: NodeJS.ErrnoException | null = null;

  private readonly segments: Segment[] = [];
  private segmentSeq = 0;
  // The write batch: full arenas, then the current one.
  private pending: Buffer[] = [];
  private arena: Buffer | null = null;
  private arenaUsed = 0;
  private pendingBytes = 0;
  private flushing: Promise<void> | null = null;
  private flushingBytes = 0;
  private flushScheduled = false;
  private writableWaiters: (() => void)[] = [];
  private reading = false;
  private readDone: Promise<unknown> = Promise.resolve();
  // Budget reserved and not yet released, so close() gives back exactly what this spool holds.
  private reserved = 0;
  private closed = false;
  // Read buffers lent out with messages (by their memory), and those given back by `release` for reuse.
  private readonly lent = new WeakSet<ArrayBufferLike>();
  private readonly readBuffers: BufferPool;
  private readonly decoder = new MessageFramer({ framing: 'u32be', maxMessageBytes: MAX_MESSAGE_LIMIT_BYTES });
  private readonly header = Buffer.alloc(SPILL_RECORD_HEADER_BYTES);

  /** @internal use `SpillStore.openSpool()` */
  constructor(
    private readonly store: SpillStore,
    /** Names this spool's segment files. */
    readonly id: string,
    private readonly openSegment: (path: string) => Promise<SegmentFile>,
  ) {
    this.readBuffers = new BufferPool({ bufferBytes: store.readBatchBytes, maxCached: MAX_FREE_READ_BUFFERS });
  }

  /** Bytes in this spool's segment files now. */
  get bytesOnDisk(): number {
    let total = 0;
    for (const s of this.segments) total += s.written;
    return total;
  }

  /** Segment files this spool has now. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** Bytes held in RAM for writing (the write batch, and the one being written). */
  get bufferedBytes(): number {
    return this.pendingBytes + this.flushingBytes;
  }

  /**
   * Whether `append` would take a message of `size` bytes now. Reserves nothing; it may start
   * writing a full batch, so that only a disk that is really behind answers `busy`.
   */
  canAppend(size: number): SpillAppend {
    if (this.closed || this.diskError !== null) return 'full';
    const recordBytes = SPILL_RECORD_HEADER_BYTES + size;
    if (!this.store.budget.fits(recordBytes)) return 'full';
    if (this.pendingBytes > 0 && this.pendingBytes + recordBytes > this.store.writeBatchBytes) {
      this.startFlush();
      if (this.pendingBytes > 0) return this.diskError !== null ? 'full' : 'busy';
    }
    return 'ok';
  }

  /**
   * Takes `message` (copied; the caller may reuse its buffer) if `canAppend` says `ok`, and
   * returns the same answer. On `full`, fall back to block; on `busy`, await `whenWritable()`.
   */
  append(message: Buffer): SpillAppend {
    const answer = this.canAppend(message.length);
    if (answer !== 'ok') return answer;
    const recordBytes = SPILL_RECORD_HEADER_BYTES + message.length;
    this.store.budget.tryReserve(recordBytes);
    this.reserved += recordBytes;
    this.header.writeUInt32BE(message.length, 0);
    this.copyIn(this.header);
    this.copyIn(message);
    this.pendingBytes += recordBytes;
    this.backlogMessages++;
    this.backlogBytes += message.length;
    // Half a batch is worth a write now; less waits for the end of the turn to gather more.
    if (this.pendingBytes * 2 >= this.store.writeBatchBytes) this.startFlush();
    else this.scheduleFlush();
    return 'ok';
  }

  /**
   * Resolves once the write batch has room again (its bytes were handed to the disk), starting
   * that write if none is in progress; at once if it has room already, or the spool is full or closed.
   */
  whenWritable(): Promise<void> {
    this.startFlush();
    if (this.pendingBytes === 0 || this.diskError !== null || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  /** Resolves once everything appended so far is on disk, or could not be written (see `diskError`). */
  async flush(): Promise<void> {
    for (;;) {
      this.startFlush();
      if (this.flushing === null) return;
      await this.flushing;
    }
  }

  /**
   * The oldest spilled messages, whole and in order, at least one unless the backlog is empty
   * (then `[]`). `maxBytes` bounds each disk read (default: the store's read batch); a message
   * longer than it is assembled over several reads. Rejects if the disk cannot be read.
   */
  async read(maxBytes: number = this.store.readBatchBytes): Promise<Buffer[]> {
    if (this.reading) throw new Error('SpillSpool.read: one read at a time');
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a whole number >= 1, got ${maxBytes}`);
    this.reading = true;
    const done = this.readMessages(maxBytes);
    this.readDone = done.catch(() => {});
    try {
      return await done;
    } finally {
      this.reading = false;
    }
  }

  /**
   * Optional: says that the messages of a `read` batch are no longer referenced (the sink flushed
   * them), so the memory they were read into can take the next read instead of becoming garbage.
   * Without it nothing breaks; the collector frees that memory, later.
   */
  release(messages: readonly Buffer[]): void {
    for (const m of messages) {
      const memory = m.buffer;
      if (!this.lent.has(memory)) continue;
      this.lent.delete(memory);
      this.readBuffers.give(Buffer.from(memory, 0, memory.byteLength));
    }
  }

  /** Deletes every segment, drops what is buffered and gives its bytes back to the budget. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeWriters();
    await Promise.allSettled([this.flushing, this.readDone]);
    const segments = this.segments.splice(0);
    await Promise.all(segments.map((s) => this.deleteSegment(s, false)));
    // Arenas never handed to a reader go back to the pool (after a write failure, some were).
    if (this.diskError === null) {
      const arenas: Buffer[] = [];
      this.takeBatch(arenas);
      for (const arena of arenas) this.store.arenas.give(arena);
    }
    this.pending = [];
    this.arena = null;
    this.arenaUsed = 0;
    this.pendingBytes = 0;
    this.backlogMessages = 0;
    this.backlogBytes = 0;
    this.store.budget.release(this.reserved);
    this.reserved = 0;
    this.store.forget(this);
  }

  private copyIn(src: Buffer): void {
    let from = 0;
    while (from < src.length) {
      if (this.arena === null || this.arenaUsed === this.arena.length) {
        if (this.arena !== null) this.pending.push(this.arena);
        this.arena = this.store.arenas.take();
        this.arenaUsed = 0;
      }
      const n = src.copy(this.arena, this.arenaUsed, from);
      this.arenaUsed += n;
      from += n;
    }
  }

  /** Takes the whole write batch out (full arenas and the used part of the current one); `arenas` gets the arenas themselves. */
  private takeBatch(arenas?: Buffer[]): Buffer[] {
    const batch = this.pending;
    if (arenas !== undefined) arenas.push(...batch);
    if (this.arena !== null && this.arenaUsed > 0) {
      batch.push(this.arena.subarray(0, this.arenaUsed));
      arenas?.push(this.arena);
    } else if (this.arena !== null) {
      this.store.arenas.give(this.arena);
    }
    this.pending = [];
    this.arena = null;
    this.arenaUsed = 0;
    this.pendingBytes = 0;
    return batch;
  }

  private scheduleFlush(): void {
    if (this.flushing !== null || this.flushScheduled) return;
    this.flushScheduled = true;
    // After the current turn: every message framed from the reads at hand joins the same batch.
    setImmediate(() => {
      this.flushScheduled = false;
      this.startFlush();
    });
  }

  private startFlush(): void {
    if (this.flushing !== null || this.pendingBytes === 0 || this.diskError !== null || this.closed) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      this.flushingBytes = 0;
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.pendingBytes > 0 && this.diskError === null && !this.closed) {
      this.flushingBytes = this.pendingBytes;
      const arenas: Buffer[] = [];
      let batch = this.takeBatch(arenas);
      this.wakeWriters();
      try {
        const segment = this.writableSegment();
        const file = await this.fileOf(segment);
        while (batch.length > 0) {
          const { bytesWritten } = await file.writev(batch, segment.written);
          if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
          segment.written += bytesWritten;
          this.store.noteWritten(bytesWritten);
          batch = dropFront(batch, bytesWritten);
        }
        if (segment.written >= this.store.segmentBytes) segment.sealed = true;
        for (const arena of arenas) this.store.arenas.give(arena);
      } catch (err) {
        // What was not written stays in RAM, ahead of anything appended since; the reader takes
        // it from there. Appends answer "full" until the backlog is read back.
        this.pending = batch.concat(this.pending);
        let unwritten = 0;
        for (const b of batch) unwritten += b.length;
        this.pendingBytes += unwritten;
        this.diskError = err as NodeJS.ErrnoException;
        this.store.noteDiskError(this.diskError);
        this.wakeWriters();
      }
      this.flushingBytes = 0;
    }
  }

  /** Resolves the `whenWritable()` promises: the batch has room again, or never will (full, closed). */
  private wakeWriters(): void {
    if (this.writableWaiters.length === 0) return;
    const waiters = this.writableWaiters;
    this.writableWaiters = [];
    for (const wake of waiters) wake();
  }

  /** The segment new bytes go to: the last one unless it is sealed. */
  private writableSegment(): Segment {
    const last = this.segments[this.segments.length - 1];
    if (last !== undefined && !last.sealed) return last;
    const seq = String(++this.segmentSeq).padStart(6, '0');
    const segment: Segment = { path: join(this.store.runDir, `${this.id}-${seq}.seg`), file: null, opening: null, written: 0, readOffset: 0, sealed: false };
    this.segments.push(segment);
    return segment;
  }

  private async fileOf(segment: Segment): Promise<SegmentFile> {
    if (segment.file !== null) return segment.file;
    segment.opening ??= this.openSegment(segment.path);
    try {
      segment.file = await segment.opening;
    } catch (err) {
      // Never created: forget it so the next flush starts a fresh one.
      segment.opening = null;
      segment.sealed = true;
      const i = this.segments.indexOf(segment);
      if (i !== -1 && segment.written === 0) this.segments.splice(i, 1);
      throw err;
    }
    return segment.file;
  }

  private async readMessages(maxBytes: number): Promise<Buffer[]> {
    for (;;) {
      const bytes = await this.readRaw(maxBytes);
      if (bytes === null) return [];
      const records = this.decoder.push(bytes);
      if (records.length === 0) {
        // All of it was copied into the decoder's partial record: the read buffer is free again.
        this.release([bytes]);
        continue;
      }
      const messages = new Array<Buffer>(records.length);
      for (let i = 0; i < records.length; i++) {
        const message = records[i]!.subarray(SPILL_RECORD_HEADER_BYTES);
        messages[i] = message;
        this.backlogBytes -= message.length;
      }
      this.backlogMessages -= messages.length;
      return messages;
    }
  }

  /** The next stored bytes in order (from a segment, or from RAM after a write failure); null when nothing is left. */
  private async readRaw(maxBytes: number): Promise<Buffer | null> {
    for (;;) {
      if (this.closed) return null;
      const segment = this.segments[0];
      if (segment !== undefined && segment.readOffset < segment.written) {
        const n = Math.min(maxBytes, segment.written - segment.readOffset);
        const buffer = this.readBuffer(n);
        const file = await this.fileOf(segment);
        const { bytesRead } = await file.read(buffer, 0, n, segment.readOffset);
        if (bytesRead <= 0) throw Object.assign(new Error(`spill segment ${segment.path} ended early`), { code: 'EIO' });
        segment.readOffset += bytesRead;
        // Deleted as soon as it is read out, so its bytes go back to the budget without waiting for another read.
        await this.deleteIfDone(segment, true);
        return buffer.length === bytesRead ? buffer : buffer.subarray(0, bytesRead);
      }
      if (segment !== undefined && segment.sealed) {
        await this.deleteIfDone(segment);
        continue;
      }
      if (this.flushing !== null) {
        await this.flushing;
        continue;
      }
      if (this.pendingBytes > 0) {
        if (this.diskError === null) {
          this.startFlush();
          continue;
        }
        // The disk refused these bytes: hand them over from RAM, one arena at a time.
        const batch = this.takeBatch();
        const first = batch.shift()!;
        this.pending = batch;
        for (const b of batch) this.pendingBytes += b.length;
        this.reserved -= first.length;
        this.store.budget.release(first.length);
        // The last refused byte is handed over: recover now, as a reader whose backlog this empties
        // asks for nothing more (a message stage reads only while it has spilled messages).
        if (this.pendingBytes === 0) await this.caughtUp(segment);
        return first;
      }
      await this.caughtUp(segment);
      return null;
    }
  }

  // Everything was read back: a caught-up segment is deleted now to give its bytes back, and
  // after a write failure the disk gets another chance.
  private async caughtUp(segment: Segment | undefined): Promise<void> {
    if (segment !== undefined) await this.deleteIfDone(segment, true);
    this.diskError = null;
  }

  /** Memory for a read of `n` bytes: a released read buffer if one fits, else a new one (full-size unless the read is small). */
  private readBuffer(n: number): Buffer {
    const size = this.store.readBatchBytes;
    let buffer: Buffer;
    if (n > size) buffer = Buffer.allocUnsafeSlow(n);
    else if (this.readBuffers.cached > 0 || n > size / 2) buffer = this.readBuffers.take();
    else buffer = Buffer.allocUnsafeSlow(n);
    this.lent.add(buffer.buffer);
    return buffer;
  }

  /**
   * Deletes the oldest segment if it is fully read and nothing more will be written to it (or
   * `caughtUp`: nothing is being or waiting to be written, or what waits never goes to disk
   * because the disk refused it and it is handed over from RAM).
   */
  private async deleteIfDone(segment: Segment, caughtUp = false): Promise<void> {
    if (segment.readOffset < segment.written || this.segments[0] !== segment) return;
    if (!segment.sealed && !(caughtUp && this.flushing === null && (this.pendingBytes === 0 || this.diskError !== null))) return;
    segment.sealed = true;
    this.segments.shift();
    await this.deleteSegment(segment, true);
  }

  private async deleteSegment(segment: Segment, release: boolean): Promise<void> {
    segment.sealed = true;
    const file = segment.file ?? (segment.opening ? await segment.opening.catch(() => null) : null);
    segment.file = null;
    await file?.close().catch(() => {});
    await unlink(segment.path).catch(() => {});
    this.store.noteDeleted(segment.written);
    if (release) {
      this.reserved -= segment.written;
      this.store.budget.release(segment.written);
    }
  }
}

/** `buffers` without their first `bytes` bytes. */
function dropFront(buffers: Buffer[], bytes: number): Buffer[] {
  let i = 0;
  while (i < buffers.length && bytes >= buffers[i]!.length) bytes -= buffers[i++]!.length;
  const rest = buffers.slice(i);
  if (bytes > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(bytes);
  return rest;
}
