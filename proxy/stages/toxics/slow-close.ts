import type { Lender, Stage, StageContext } from '../../pipeline/index.js';

/** `slow_close`: data passes at once; the end (FIN) goes on `delay` ms after it arrived. */
export class SlowCloseStage implements Stage {
  readonly takesLeases = true;
  readonly heldBytes = 0;
  private context!: StageContext;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly delayMs: number) {}

  attach(context: StageContext): void {
    this.context = context;
  }

  write(chunk: Buffer, lender: Lender | null): void {
    this.context.next.write(chunk, lender);
  }

  end(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.context.next.end();
    }, this.delayMs);
  }

  flush(): void {
    if (!this.timer) return;
    this.close();
    this.context.next.end();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
