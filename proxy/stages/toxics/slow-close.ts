import type { Lender, Stage, StageContext } from '../../pipeline/index.js';
import { LongTimeout } from './long-timeout.js';

/** `slow_close`: data passes at once; the end (FIN) goes on `delay` ms after it arrived. */
export class SlowCloseStage implements Stage {
  readonly takesLeases = true;
  readonly heldBytes = 0;
  private context!: StageContext;
  private readonly timer = new LongTimeout(() => this.context.next.end());
  /** When the end came (it waits for delayMs from then). */
  private endedAtMs = 0;

  constructor(private readonly delayMs: number) {}

  attach(context: StageContext): void {
    this.context = context;
  }

  write(chunk: Buffer, lender: Lender | null): void {
    this.context.next.write(chunk, lender);
  }

  end(): void {
    this.endedAtMs = this.context.now();
    this.armEnd(this.delayMs);
  }

  // Updated while the end waits: it goes on the new delay after it came, not at once.
  adopt(previous: Stage): boolean {
    if (!(previous instanceof SlowCloseStage)) return false;
    if (previous.timer.armed) {
      previous.close();
      this.endedAtMs = previous.endedAtMs;
      this.armEnd(Math.max(0, this.endedAtMs + this.delayMs - this.context.now()));
    }
    return true;
  }

  private armEnd(waitMs: number): void {
    this.timer.start(waitMs);
  }

  flush(): void {
    if (!this.timer.armed) return;
    this.close();
    this.context.next.end();
  }

  close(): void {
    this.timer.stop();
  }
}
