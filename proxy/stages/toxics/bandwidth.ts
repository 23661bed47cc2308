import { TimedQueueStage } from './timed-queue-stage.js';

/** How long the link may have been free and still count as busy (see schedule()). */
const CATCH_UP_MS = 10;

/** Options of a bandwidth toxic. */
export interface BandwidthOptions {
  /** toxiproxy's `rate`, in KB/s (1 KB = 1000 bytes); above 0. */
  rateKBps: number;
}

/**
 * `bandwidth`: data goes on at `rate` KB/s. Each piece is due when the link would have finished
 * sending it (toxiproxy sleeps len/rate before passing a chunk on), and a chunk larger than 100 ms
 * worth is cut into 100 ms pieces, as toxiproxy does, so a slow rate trickles instead of stepping.
 * Unlike toxiproxy's, the toxic keeps at most the direction's window: past it the producer is held,
 * however much it pushes.
 */
export class BandwidthStage extends TimedQueueStage {
  private readonly bytesPerMs: number;
  private readonly sliceBytes: number;
  /** When the simulated link is free again. */
  private freeAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: BandwidthOptions) {
    super();
    if (!(options.rateKBps > 0)) throw new RangeError('a bandwidth toxic needs a rate above 0');
    this.bytesPerMs = options.rateKBps; // KB/s = 1000 bytes / 1000 ms
    this.sliceBytes = Math.max(1, options.rateKBps * 100);
  }

  protected schedule(chunk: Buffer, nowMs: number): void {
    // An idle link does not bank time: sending starts now, not when it last finished. A link free
    // for less than CATCH_UP_MS was not idle: the queue ran dry between letting the producer go and
    // its next read arriving (at 100 MB/s half a 256 KiB window lasts 1.3 ms), and that gap is made
    // up (at most CATCH_UP_MS worth goes at once), or fast rates come out short: 0.83 at 100 MB/s.
    let at = this.freeAtMs >= nowMs - CATCH_UP_MS ? this.freeAtMs : nowMs;
    for (let offset = 0; offset < chunk.length; offset += this.sliceBytes) {
      const piece = chunk.subarray(offset, Math.min(chunk.length, offset + this.sliceBytes));
      at += piece.length / this.bytesPerMs;
      this.enqueue(piece, at);
    }
    this.freeAtMs = at;
  }

  protected limitBytes(): number {
    return Math.max(this.context.windowBytes(), 1);
  }
}
