import type { Lender, Stage, StageContext } from '../../pipeline/index.js';
import { LongTimeout } from './long-timeout.js';

/**
 * `reset_peer`: once data (or the end) arrives, the connection is reset (RST both ways) `timeout`
 * ms later. What arrives meanwhile is dropped, as toxiproxy drops it, and the producer is held.
 */
export class ResetPeerStage implements Stage {
  readonly takesLeases = true;
  readonly heldBytes = 0;
  droppedBytes = 0;
  private context!: StageContext;
  private readonly timer = new LongTimeout(() => {
    this.context.upstream.release(this);
    this.context.connection.reset('reset_peer');
  });

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
    if (this.timer.armed) this.context.upstream.release(this);
    this.close();
  }

  close(): void {
    this.timer.stop();
  }

  private arm(): void {
    if (this.timer.armed) return;
    this.context.upstream.hold(this, 'toxic');
    this.timer.start(this.timeoutMs);
  }
}
