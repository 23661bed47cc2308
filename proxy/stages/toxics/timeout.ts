import type { Lender, Stage, StageContext, StageExit } from '../../pipeline/index.js';
import { LongTimeout } from './long-timeout.js';

/**
 * `timeout`: nothing gets through (data is dropped, counted in droppedBytes) and the connection is
 * closed once `timeout` ms pass without data: the clock starts with the toxic and starts again at
 * every chunk, as toxiproxy's timeout.go waits on a fresh time.After for each. 0 drops until the
 * toxic is removed. Removing it closes the connection too, as toxiproxy's does (its Cleanup): a
 * stream that lost bytes cannot go on.
 */
export class TimeoutStage implements Stage {
  readonly takesLeases = true;
  readonly heldBytes = 0;
  droppedBytes = 0;
  private context!: StageContext;
  private readonly timer = new LongTimeout(() => this.context.connection.close('timeout'));

  constructor(private readonly timeoutMs: number) {}

  attach(context: StageContext): void {
    this.context = context;
    if (this.timeoutMs > 0) this.timer.start(this.timeoutMs);
  }

  write(chunk: Buffer, lender: Lender | null): void {
    this.droppedBytes += chunk.length;
    lender?.giveBack(chunk, true);
    if (this.timer.armed) this.timer.start(this.timeoutMs);
  }

  end(): void {
    this.context.next.end();
  }

  // Removed, it closes the connection (toxiproxy's Cleanup); drawn out by an update (toxicity), the
  // connection carries on, as toxiproxy runs a noop in its place without cleaning up.
  flush(why: StageExit = 'removed'): void {
    this.close();
    if (why === 'removed') this.context.connection.close('timeout');
  }

  // Updated: the connection stays open and the new timeout counts from now (toxiproxy restarts the
  // toxic; only removal closes).
  adopt(previous: Stage): boolean {
    return previous instanceof TimeoutStage;
  }

  close(): void {
    this.timer.stop();
  }
}
