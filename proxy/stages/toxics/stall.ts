import type { Lender, Stage, StageContext } from '../../pipeline/index.js';
import { LongTimeout } from './long-timeout.js';

/**
 * `stall` (sluice's own): stops reading the source for `duration` ms, or until removed when 0: a
 * consumer that stops. What was already read goes on.
 */
export class StallStage implements Stage {
  readonly takesLeases = true;
  readonly heldBytes = 0;
  private context!: StageContext;
  private holding = false;
  private readonly timer = new LongTimeout(() => this.letGo());

  constructor(private readonly durationMs: number) {}

  attach(context: StageContext): void {
    this.context = context;
    this.holding = true;
    context.upstream.hold(this, 'toxic');
    if (this.durationMs > 0) this.timer.start(this.durationMs);
  }

  write(chunk: Buffer, lender: Lender | null): void {
    this.context.next.write(chunk, lender);
  }

  end(): void {
    this.context.next.end();
  }

  flush(): void {
    this.letGo();
  }

  close(): void {
    this.timer.stop();
  }

  private letGo(): void {
    this.close();
    if (!this.holding) return;
    this.holding = false;
    this.context.upstream.release(this);
  }
}
