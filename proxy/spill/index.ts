/**
 * The disk side of the spill strategy: messages that do not fit in memory are appended to
 * segment files and read back in order as the target drains.
 *
 *   <spill-dir>/sluice-<pid>-<random>/        one directory per process run (run-dir.ts)
 *       c1-000001.seg  c1-000002.seg ...      append-only segments of one connection (spool.ts)
 *
 * The process-wide `SpillStore` (spill-store.ts) owns the run directory and the disk budget
 * (`--spill-max`) shared by every connection, and hands out one `SpillSpool` per connection.
 */
export { SpillStore, DEFAULT_SEGMENT_BYTES, DEFAULT_WRITE_BATCH_BYTES, DEFAULT_READ_BATCH_BYTES, DEFAULT_SPILL_MAX_BYTES, type SpillStoreOptions } from './spill-store.js';
export { SpillSpool, SPILL_RECORD_HEADER_BYTES, type SpillAppend, type SegmentFile } from './spool.js';
export { SpillDirError, DEFAULT_SPILL_DIR, isProcessAlive } from './run-dir.js';
