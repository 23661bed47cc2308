import { PIECE_OVERHEAD_BYTES, TimedQueueStage } from './timed-queue-stage.js';

/** Options of a slicer toxic (toxiproxy's attributes). */
export interface SlicerOptions {
  averageSize: number;
  /** Below averageSize. */
  sizeVariation: number;
  /** Between pieces, in microseconds. */
  delayUs: number;
  random?: () => number;
}

/**
 * `slicer`: cuts each chunk into pieces of about `average_size` bytes (± `size_variation`), by
 * toxiproxy's recursive halving, with `delay` µs after each piece. The pieces wait in the queue,
 * which holds at most the direction's window before the producer is held.
 */
export class SlicerStage extends TimedQueueStage {
  private readonly random: () => number;
  protected override readonly pieceOverheadBytes = PIECE_OVERHEAD_BYTES;

  constructor(private readonly options: SlicerOptions) {
    super();
    if (!(options.averageSize >= 1) || !(options.sizeVariation < options.averageSize)) throw new RangeError('a slicer needs average_size >= 1 and size_variation below it');
    this.random = options.random ?? Math.random;
  }

  protected schedule(chunk: Buffer, nowMs: number): void {
    const delayMs = this.options.delayUs / 1000;
    // The first piece goes when the previous chunk's last delay is over; each next one a delay later.
    let at = Math.max(nowMs, this.lastDueMs + delayMs);
    const bounds = sliceBounds(0, chunk.length, this.options.averageSize, this.options.sizeVariation, this.random);
    for (let i = 1; i < bounds.length; i++) {
      this.enqueueRange(chunk, bounds[i - 1]!, bounds[i]!, at);
      at += delayMs;
    }
  }

  protected limitBytes(): number {
    return Math.max(this.context.windowBytes(), 1);
  }
}

/**
 * toxiproxy's SlicerToxic.chunk, as the list of cut points from `start` to `end`: a range within
 * average + variation stays whole; a longer one is cut near its middle (± variation) and each half
 * cut again.
 */
export function sliceBounds(start: number, end: number, average: number, variation: number, random: () => number): number[] {
  const cuts = [start];
  const stack: [number, number][] = [[start, end]];
  // Depth-first, left half first, without recursion (a 64 KiB chunk in 1-byte pieces is deep).
  while (stack.length > 0) {
    const [from, to] = stack.pop()!;
    if (to - from - average <= variation) {
      cuts.push(to);
      continue;
    }
    let mid = from + Math.floor((to - from) / 2);
    if (variation > 0) mid += Math.floor(random() * 2 * variation) - variation;
    stack.push([mid, to], [from, mid]);
  }
  return cuts;
}
