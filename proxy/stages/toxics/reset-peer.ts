import type { Stage, StageContext } from '../../pipeline/index.js';
import { LongTimeout } from './long-timeout.js';

/**
 * `reset_peer`: once data (or the end) arrives, the connection is reset (RST both ways) `timeout`
 * ms later, and the producer is held meanwhile, as toxiproxy stops reading. What arrives before the
 * reset is held here, not passed on: the reset discards it (counted in droppedBytes), visibly. Taken
 * out before it rings (removed, or drawn out by a toxicity update), it hands on what it holds and
 * the end, and there is no reset: a healed fault must not leave a silent gap. Updated, the new
 * timeout counts from when the first data came.
 */
export class ResetPeerStage implements Stage {
  // What it holds is its own (copies), kept until the reset or a flush.
  readonly takesLeases = false;
  heldBytes = 0;
  /** Bytes discarded by the reset. */
  droppedBytes = 0;
  private context!: StageContext;
  private held: Buffer[] = [];
  private endHeld = false;
  private armedAtMs = 0;
  private readonly timer = new LongTimeout(() => this.ring());

  constructor(private readonly timeoutMs: number) {}

  attach(context: StageContext): void {
    this.context = context;
  }

  write(chunk: Buffer): void {
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    this.arm(this.context.now());
  }

  end(): void {
    this.endHeld = true;
    this.arm(this.context.now());
  }

  adopt(previous: Stage): boolean {
    if (!(previous instanceof ResetPeerStage)) return false;
    if (!previous.timer.armed) return true;
    this.held = previous.held;
    this.heldBytes = previous.heldBytes;
    this.endHeld = previous.endHeld;
    // Held before the previous version lets go, so the producer never reads in between.
    this.arm(previous.armedAtMs);
    previous.context.upstream.release(previous);
    previous.forget();
    return true;
  }

  flush(): void {
    if (!this.timer.armed) return;
    this.timer.stop();
    for (const chunk of this.held) this.context.next.write(chunk, null);
    const endHeld = this.endHeld;
    this.forget();
    this.context.upstream.release(this);
    if (endHeld) this.context.next.end();
  }

  close(): void {
    this.timer.stop();
    this.forget();
  }

  private arm(sinceMs: number): void {
    if (this.timer.armed) return;
    this.armedAtMs = sinceMs;
    this.context.upstream.hold(this, 'toxic');
    this.timer.start(Math.max(0, sinceMs + this.timeoutMs - this.context.now()));
  }

  private ring(): void {
    this.droppedBytes += this.heldBytes;
    this.forget();
    this.context.upstream.release(this);
    this.context.connection.reset('reset_peer');
  }

  private forget(): void {
    this.held = [];
    this.heldBytes = 0;
    this.endHeld = false;
  }
}
