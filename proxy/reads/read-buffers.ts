/**
 * The shared landing buffer of sockets that read through `onread` (see onread-reader.ts).
 *
 * A socket that is idle or carries small messages reads into a small view of one LANDING buffer
 * shared by every such socket: reads are handled one at a time on the event loop and what lands
 * is copied out at once (into a block of the BlockPool), so 1000 idle connections cost no
 * buffers at all. A socket moving bulk data reads straight into blocks of its own instead.
 */

/** Size of the landing buffer: what Node itself reads per call. */
export const READ_BUFFER_BYTES = 64 * 1024;

/** The shared buffer idle and small-message sockets read into; never handed to write(). */
export const LANDING: Buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);

/**
 * Most bytes one read of an idle or light socket brings (a waiting client's first bytes too): a
 * read that fills it means bulk, which reads into blocks of its own. Small, so that what such
 * reads bring while memory is short (it must be kept: a read cannot be undone) stays small.
 */
export const LIGHT_READ_BYTES = 4 * 1024;

/** The view of LANDING an idle or light socket reads into. */
export const LIGHT_VIEW: Buffer = LANDING.subarray(0, LIGHT_READ_BYTES);

const lightViews = new Map<number, Buffer>();

/**
 * The light view for reads whose bytes are copied into blocks of `blockBytes`: LIGHT_VIEW, or a
 * quarter of a block when blocks are small (a tiny budget), so several light reads share a block.
 */
export function lightViewFor(blockBytes: number): Buffer {
  const bytes = Math.max(1, Math.min(LIGHT_READ_BYTES, Math.floor(blockBytes / 4)));
  let view = lightViews.get(bytes);
  if (!view) lightViews.set(bytes, (view = LANDING.subarray(0, bytes)));
  return view;
}

/** True for LANDING and its views (whatever lands there must be copied out at once). */
export function isLanding(buffer: Buffer): boolean {
  return buffer.buffer === LANDING.buffer;
}
