/**
 * Receive-window auto-tuning, as pure formulas (quic-go's flow controller, go-yamux's stream).
 *
 * A stream capped at window / RTT cannot fill a long fat link. When the consumer drains half the
 * window within about two round trips, the window is what limits the stream, not the consumer, so
 * it doubles (up to a maximum). A slow consumer takes longer than that and keeps its window. Under
 * memory pressure windows fall back to the initial size. The caller applies the result only in the
 * same step that tells the peer (a window update), never before.
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
}

/**
 * Returns the window to grant up to now. Doubles when `consumedBytes` went in under
 * 4 * rtt * consumed / window (two round trips for half a window, quic-go's rule); drops to the
 * initial window under memory pressure; otherwise keeps it.
 */
export function tuneWindow(input: TuneInput): number {
  const { windowBytes, initialWindowBytes, maxWindowBytes, consumedBytes, elapsedMs, rttMs } = input;
  if (input.memoryPressure) return Math.min(windowBytes, initialWindowBytes);
  if (rttMs === null || rttMs <= 0 || windowBytes >= maxWindowBytes || consumedBytes <= 0) return windowBytes;
  const fastEnough = elapsedMs * windowBytes < 4 * rttMs * consumedBytes;
  return fastEnough ? Math.min(windowBytes * 2, maxWindowBytes) : windowBytes;
}

/** Folds a new round-trip sample into the estimate: half old, half new (go-yamux); the first sample stands. */
export function smoothRtt(previousMs: number | null, sampleMs: number): number {
  return previousMs === null ? sampleMs : previousMs / 2 + sampleMs / 2;
}
