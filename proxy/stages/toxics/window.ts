import type { Lender, Stage, StageContext } from '../../pipeline/index.js';

/**
 * `window` (sluice's own): this direction's window set to `bytes`: the source is held while that
 * much waits for the sink, and read again at half, to watch what a small window does.
 */
export class WindowStage implements Stage {
  readonly takesLeases = true;
  readonly heldBytes = 0;
  private context!: StageContext;
  private holding = false;

  constructor(private readonly windowBytes: number) {}

  attach(context: StageContext): void {
    this.context = context;
  }

  write(chunk: Buffer, lender: Lender | null): void {
    this.context.next.write(chunk, lender);
    if (!this.holding && this.context.pendingAfter() >= this.windowBytes) {
      this.holding = true;
      this.context.upstream.hold(this, 'window');
    }
  }

  end(): void {
    this.context.next.end();
  }

  drained(): void {
    if (this.holding && this.context.pendingAfter() <= this.windowBytes / 2) this.flush();
  }

  flush(): void {
    if (!this.holding) return;
    this.holding = false;
    this.context.upstream.release(this);
  }

  close(): void {}
}
