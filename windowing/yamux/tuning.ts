/**
 * Receive-window auto-tuning, as pure formulas (quic-go's flow controller, go-yamux's stream),
 * both ways.
 *
 * A stream capped at window / RTT cannot fill a long fat link. When the consumer drains half the
 * window within about two round trips, the window is what limits the stream, not the consumer, so
 * it doubles (up to a maximum). A window the consumer takes more than eight round trips to drain
 * half of is four times what that rule would have grown it to: it only pins memory the consumer
 * is not draining (a consumer that slowed down or stalled after a fast start, or whose kernel
 * buffers swallowed a burst). After two such epochs in a row (one alone may be this process not
 * getting the CPU on a loaded machine, and windows of fast streams would swing up and down) it
 * halves, as often as that stays true, down to the initial window. The gap between the two rules
 * keeps a steady consumer's window where it is. Under memory pressure windows fall back to the
 * initial size. quic-go and go-yamux only ever grow.
 *
 * The caller applies the result only in the same step that tells the peer (a window update),
 * never before. A smaller window takes back no credit already granted (yamux has no way to):
 * the next updates grant less until what the peer may send fits the smaller window.
 */

/** What tuneWindow looks at when a window update is about to be sent. */
export interface TuneInput {
  /** Current target window. */
  windowBytes: number;
  /** Window every stream starts with (the floor). */
  initialWindowBytes: number;
  /** Largest window allowed (the ceiling). */
  maxWindowBytes: number;
  /** Bytes consumed since the epoch began (the last window update, or the first byte). */
  consumedBytes: number;
  /** Time since the epoch began. */
  elapsedMs: number;
  /** Smoothed round-trip time, or null before any ping came back. */
  rttMs: number | null;
  /** True while the process is short of memory. */
  memoryPressure: boolean;
  /** Slow epochs (see isSlowDrain) in a row just before this one. */
  slowEpochsBefore: number;
}

/** Round trips of drain a window may cover before it doubles: below this many it grows (quic-go's 4 = 2 per half window). */
export const GROW_BELOW_RTTS = 4;
/** Round trips of drain past which a window halves: four times the growth rule's, so a window just doubled stays. */
export const SHRINK_ABOVE_RTTS = 16;
/** Slow epochs in a row, this one included, before a window halves. */
export const SHRINK_AFTER_SLOW_EPOCHS = 2;

// elapsed * window / consumed (ms of drain the window covers) under k round trips, cross-multiplied.
function drainCovers(input: TuneInput, windowBytes: number, rtts: number): boolean {
  return input.elapsedMs * windowBytes < rtts * input.rttMs! * input.consumedBytes;
}

/** True when the epoch drained the window slower than SHRINK_ABOVE_RTTS round trips' worth (never without an rtt or consumption). */
export function isSlowDrain(input: TuneInput): boolean {
  const { rttMs, consumedBytes, windowBytes, initialWindowBytes } = input;
  if (rttMs === null || rttMs <= 0 || consumedBytes <= 0 || windowBytes <= initialWindowBytes) return false;
  return !drainCovers(input, windowBytes, SHRINK_ABOVE_RTTS);
}

/**
 * Returns the window to grant up to now. The window covers `elapsedMs * windowBytes /
 * consumedBytes` of drain at the epoch's rate, which is `that / rttMs` round trips: under
 * GROW_BELOW_RTTS it doubles (up to the maximum); over SHRINK_ABOVE_RTTS, in the
 * SHRINK_AFTER_SLOW_EPOCHS-th such epoch in a row, it halves until it no longer is (down to the
 * initial window); otherwise it stays. Under memory pressure it drops to the initial window. With
 * nothing consumed or no round-trip time there is no rate to judge by, and it stays.
 */
export function tuneWindow(input: TuneInput): number {
  const { windowBytes, initialWindowBytes, maxWindowBytes, consumedBytes, rttMs } = input;
  if (input.memoryPressure) return Math.min(windowBytes, initialWindowBytes);
  if (rttMs === null || rttMs <= 0 || consumedBytes <= 0) return windowBytes;
  if (windowBytes < maxWindowBytes && drainCovers(input, windowBytes, GROW_BELOW_RTTS)) return Math.min(windowBytes * 2, maxWindowBytes);
  if (!isSlowDrain(input) || input.slowEpochsBefore + 1 < SHRINK_AFTER_SLOW_EPOCHS) return windowBytes;
  let window = windowBytes;
  while (window > initialWindowBytes && !drainCovers(input, window, SHRINK_ABOVE_RTTS)) window = Math.max(initialWindowBytes, Math.floor(window / 2));
  return window;
}

/**
 * Folds a new round-trip sample into the estimate: half old, half new (go-yamux), except that a
 * lower sample is taken at once. Delays only ever add to a round trip (a busy event loop at
 * either end, a queue on the way), so the lowest recent sample is the closest to the path's; a
 * first ping answered while a process was still starting up would otherwise stand, several
 * times too high, until the next keepalive. The first sample stands; a sample of 0 (a clock too
 * coarse to see the round trip) is only averaged in.
 */
export function smoothRtt(previousMs: number | null, sampleMs: number): number {
  if (previousMs === null) return sampleMs;
  const average = previousMs / 2 + sampleMs / 2;
  return sampleMs > 0 ? Math.min(sampleMs, average) : average;
}
