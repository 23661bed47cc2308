import { BufferPool } from '../memory/buffer-pool.js';

/**
 * Read buffers for sockets that read through `onread` instead of allocating per read.
 *
 * A socket that is idle or carries small messages reads into one LANDING buffer shared by
 * every such socket (reads are handled one at a time on the event loop, and what lands is
 * copied out at once), so 1000 idle connections cost no buffers at all. A socket moving bulk
 * data reads straight into a dedicated 64 KiB buffer from a shared free list, which is handed
 * to write() without copying and comes back to the list once flushed. Per-read allocation,
 * not copying, is what a pipe() relay pays for; this pays for neither on the bulk path.
 */

/** Size of every read buffer: what Node itself reads per call. */
export const READ_BUFFER_BYTES = 64 * 1024;

/** The shared buffer idle and small-message sockets read into; never handed to write(). */
export const LANDING: Buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);

/** Smallest read a socket is offered when memory is tight. */
export const MIN_READ_BYTES = 4 * 1024;

// Views of LANDING in powers of two from 4 KiB: a smaller view caps how much one read brings in.
const LANDING_VIEWS: Buffer[] = [];
for (let size = MIN_READ_BYTES; size < READ_BUFFER_BYTES; size *= 2) LANDING_VIEWS.push(LANDING.subarray(0, size));
LANDING_VIEWS.push(LANDING);

/** True for LANDING and its views (whatever lands there must be copied out at once). */
export function isLanding(buffer: Buffer): boolean {
  return buffer.buffer === LANDING.buffer;
}

/** A view of LANDING at most `bytes` long (at least MIN_READ_BYTES): the next read brings no more. */
export function landingAtMost(bytes: number): Buffer {
  let i = 0;
  while (i + 1 < LANDING_VIEWS.length && LANDING_VIEWS[i + 1]!.length <= bytes) i++;
  return LANDING_VIEWS[i]!;
}

/** The process-wide pool of dedicated read buffers (256 x 64 KiB = 16 MiB cached at most). */
export const sharedPool = new BufferPool({ bufferBytes: READ_BUFFER_BYTES, maxCached: 256, refuse: isLanding });
