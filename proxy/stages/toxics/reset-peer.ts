import type { Lender, Stage, StageContext } from '../../pipeline/index.js';

/**
 * `reset_peer`: once data (or the end) arrives, the connection is reset (RST both ways) `timeout`
 * ms later. What arrives meanwhile is dropped, as toxiproxy drops it, and the producer is held.
 */
export class ResetPeerStage implements Stage {
  readonly takesLeases = true;
  readonly heldBytes = 0;
  droppedBytes = 0;
  private context!: StageContext;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly timeoutMs: number) {}

  attach(context: StageContext): void {
    this.context = context;
  }

  write(chunk: Buffer, lender: Lender | null): void {
    this.droppedBytes += chunk.length;
    lender?.giveBack(chunk, true);
    this.arm();
  }

  end(): void {
    this.arm();
  }

  flush(): void {
    if (this.timer) this.context.upstream.release(this);
    this.close();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer) return;
    this.context.upstream.hold(this, 'toxic');
    this.timer = setTimeout(() => {
      this.timer = null;
      this.context.upstream.release(this);
      this.context.connection.reset('reset_peer');
    }, this.timeoutMs);
  }
}
