import { BufferPool } from '../memory/buffer-pool.js';
import { open } from 'node:fs/promises';
import { SpillBudget } from '../../windowing/spill-budget.js';
import { closeRunDir, isProcessAlive, openRunDir } from './run-dir.js';
import { SpillSpool, type SegmentFile } from './spool.js';

/**
 * The process-wide side of the spill (see index.ts for the picture): one run directory, the
 * disk budget shared by every connection's spool (`--spill-max`), and the write-batch arenas
 * they reuse. Nothing is fsynced: the spill relieves memory, it is not a durable queue.
 */

/** Default segment size: big enough that file churn is rare, small enough that delivered bytes are freed soon. */
export const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;

/** Default write batch: the RAM a spilling connection may fill before its previous batch is on disk. */
export const DEFAULT_WRITE_BATCH_BYTES = 256 * 1024;

/** Default read batch: bytes read back from disk at a time. */
export const DEFAULT_READ_BATCH_BYTES = 256 * 1024;

// Copy buffers of the write batch; messages are copied in, so a batch never pins the reads they came from.
const ARENA_BYTES = 64 * 1024;

// Written arenas are kept for reuse, up to this much over the whole store: allocating a fresh one per
// batch would leave garbage that the collector frees late (tens of MiB of RSS at disk speed).
const ARENA_POOL_BYTES = 4 * 1024 * 1024;

export { DEFAULT_SPILL_MAX_BYTES } from './defaults.js';

/** Options of a spill store. */
export interface SpillStoreOptions {
  /** `--spill-dir`: created if missing; a run directory is made inside it. */
  dir: string;
  /** `--spill-max`: most bytes on disk (records included) over all connections. */
  maxBytes: number;
  /** Segment size; a segment is closed for writing once it reaches this. Default 4 MiB, at most a quarter of `maxBytes` (64 KiB at least). */
  segmentBytes?: number;
  /** Write batch size per connection. Default 256 KiB. */
  writeBatchBytes?: number;
  /** Read batch size per connection. Default 256 KiB. */
  readBatchBytes?: number;
  /** Called once per store, the first time a write fails (ENOSPC and the like), for the single log line. */
  onDiskFull?: (err: NodeJS.ErrnoException, runDir: string) => void;
  /** Whether a process is alive, for cleaning up crashed runs. Default: `process.kill(pid, 0)`. */
  isAlive?: (pid: number) => boolean;
  /** Creates a segment file. Default: `fs.promises.open(path, 'wx+')`. */
  openSegment?: (path: string) => Promise<SegmentFile>;
}

/**
 * The spill area of one process run: checks the directory, removes what crashed runs left,
 * owns the shared budget and hands out one `SpillSpool` per connection.
 */
export class SpillStore {
  readonly dir: string;
  /** This run's directory, `<dir>/sluice-<pid>-<hex>`. */
  readonly runDir: string;
  /** The process-wide disk budget, shared by every spool. */
  readonly budget: SpillBudget;
  /** Names of leftover run directories removed at start. */
  readonly removedLeftovers: readonly string[];
  readonly segmentBytes: number;
  readonly writeBatchBytes: number;
  readonly readBatchBytes: number;
  /** Write failures seen (the first one is reported through `onDiskFull`). */
  diskFullEvents = 0;
  /** Bytes in segment files right now (`sluice_spill_bytes`). */
  bytesOnDisk = 0;
  /** Bytes ever written to segment files (`sluice_spill_bytes_total`). */
  bytesWrittenTotal = 0;

  private readonly spools = new Set<SpillSpool>();
  /** Copy buffers of the write batches, reused over the whole store. */
  readonly arenas = new BufferPool({ bufferBytes: ARENA_BYTES, maxCached: ARENA_POOL_BYTES / ARENA_BYTES });
  private nextSpoolId = 1;
  private closed = false;

  private constructor(
    options: SpillStoreOptions,
    runDir: string,
    removed: string[],
    private readonly openSegmentFile: (path: string) => Promise<SegmentFile>,
    private readonly onDiskFull: ((err: NodeJS.ErrnoException, runDir: string) => void) | undefined,
  ) {
    this.dir = options.dir;
    this.runDir = runDir;
    this.removedLeftovers = removed;
    this.budget = new SpillBudget(options.maxBytes);
    this.segmentBytes = options.segmentBytes ?? Math.min(DEFAULT_SEGMENT_BYTES, Math.max(64 * 1024, Math.floor(options.maxBytes / 4)));
    this.writeBatchBytes = options.writeBatchBytes ?? DEFAULT_WRITE_BATCH_BYTES;
    this.readBatchBytes = options.readBatchBytes ?? DEFAULT_READ_BATCH_BYTES;
  }

  /**
   * Prepares the spill directory: creates it if missing, removes run directories of processes
   * that are gone, creates this run's directory and proves it writable. Throws `SpillDirError`
   * (naming the directory) when it cannot.
   */
  static async open(options: SpillStoreOptions): Promise<SpillStore> {
    for (const key of ['segmentBytes', 'writeBatchBytes', 'readBatchBytes'] as const) {
      const value = options[key];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
        throw new RangeError(`${key} must be a whole number >= 1, got ${value}`);
      }
    }
    new SpillBudget(options.maxBytes); // validates maxBytes before touching the disk
    const { runDir, removedLeftovers: removed } = await openRunDir(options.dir, options.isAlive ?? isProcessAlive);
    const openSegment = options.openSegment ?? ((path: string) => open(path, 'wx+'));
    return new SpillStore(options, runDir, removed, openSegment, options.onDiskFull);
  }

  /** Spools currently open. */
  get openSpools(): number {
    return this.spools.size;
  }

  /** A new spool for one connection. */
  openSpool(): SpillSpool {
    if (this.closed) throw new Error('SpillStore is closed');
    const spool = new SpillSpool(this, `c${this.nextSpoolId++}`, this.openSegmentFile);
    this.spools.add(spool);
    return spool;
  }

  /** Closes every spool (deleting their segments) and removes the run directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.spools].map((s) => s.close()));
    await closeRunDir(this.runDir);
  }

  /** @internal a spool's bookkeeping */
  noteWritten(bytes: number): void {
    this.bytesOnDisk += bytes;
    this.bytesWrittenTotal += bytes;
  }

  /** @internal */
  noteDeleted(bytes: number): void {
    this.bytesOnDisk -= bytes;
  }

  /** @internal */
  noteDiskError(err: NodeJS.ErrnoException): void {
    if (this.diskFullEvents++ === 0) this.onDiskFull?.(err, this.runDir);
  }

  /** @internal */
  forget(spool: SpillSpool): void {
    this.spools.delete(spool);
  }
}
