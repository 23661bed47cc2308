import type { Lender, Stage, StageContext } from '../../pipeline/index.js';

/**
 * `drop` (sluice's own, message mode): each whole message is dropped with `probability`, counted
 * like the overflow policy's drops (reason `toxic`). After the message stage every write is one
 * whole message, which is why the toxic needs message mode.
 */
export class DropStage implements Stage {
  readonly takesLeases = true;
  readonly heldBytes = 0;
  dropped = 0;
  private context!: StageContext;

  constructor(
    private readonly probability: number,
    private readonly onDropped: () => void,
    private readonly random: () => number = Math.random,
  ) {}

  attach(context: StageContext): void {
    this.context = context;
  }

  write(chunk: Buffer, lender: Lender | null): void {
    if (this.random() >= this.probability) return this.context.next.write(chunk, lender);
    this.dropped++;
    this.onDropped();
    lender?.giveBack(chunk, true);
  }

  end(): void {
    this.context.next.end();
  }

  close(): void {}
}
