import { TokenBucket } from '../../windowing/token-bucket.js';
import type { Lender, Stage, StageContext } from '../pipeline/index.js';

/** Options for a rate stage. */
export interface RateStageOptions {
  rateBytesPerS: number;
  /** Largest burst; default one second of rate (TokenBucket's default). */
  burstBytes?: number;
}

/**
 * `--rate SIZE`: holds what passes this point of a direction to a byte rate (nginx's
 * proxy_download_rate, toxiproxy's bandwidth toxic). It polices after the fact: each chunk goes
 * on at once and is charged to a token bucket; when that leaves a debt, the stage holds its
 * upstream for exactly as long as paying it back takes.
 *
 *   write(chunk) --> next.write(chunk); charge(bucket) --debt?--> upstream.hold('rate') ... timer --> release
 *
 * So the long-run rate never exceeds the set one, and a burst is at most the bucket plus one
 * chunk. Its upstream is the source's Valve when nothing queues before it (the producer is held,
 * as by a slow consumer), or the message stage's gate after an overflow policy (which then
 * queues, drops or spills the surplus instead of holding the producer).
 */
export class RateStage implements Stage {
  readonly takesLeases = true;
  readonly heldBytes = 0;
  readonly bucket: TokenBucket;
  /** Times the stage held its upstream for the rate. */
  holds = 0;
  private context!: StageContext;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: RateStageOptions) {
    // Full from the start: a bucket full at time 0 is still full (capped) at any later time.
    this.bucket = new TokenBucket({ rateBytesPerS: options.rateBytesPerS, burstBytes: options.burstBytes, nowMs: 0 });
  }

  /** True while the stage holds its upstream for the rate. */
  get holding(): boolean {
    return this.timer !== null;
  }

  attach(context: StageContext): void {
    this.context = context;
  }

  write(chunk: Buffer, lender: Lender | null): void {
    this.context.next.write(chunk, lender);
    const waitMs = this.bucket.charge(chunk.length, this.context.now());
    if (waitMs === 0) return;
    if (this.timer) clearTimeout(this.timer);
    else {
      this.holds++;
      this.context.upstream.hold(this, 'rate');
    }
    this.timer = setTimeout(this.onTimer, waitMs);
  }

  end(): void {
    this.context.next.end();
  }

  /** Taken out: nothing is held here but the upstream; let it go. */
  flush(): void {
    if (this.timer) this.context.upstream.release(this);
    this.close();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    // A chunk that was already on its way when the hold began may have added debt.
    const waitMs = this.bucket.charge(0, this.context.now());
    if (waitMs > 0) {
      this.timer = setTimeout(this.onTimer, waitMs);
      return;
    }
    this.context.upstream.release(this);
  };
}
