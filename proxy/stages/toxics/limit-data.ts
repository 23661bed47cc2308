import type { Lender, Stage, StageContext } from '../../pipeline/index.js';

/**
 * `limit_data`: passes `bytes` bytes on, then closes the connection (the last chunk is cut to
 * fit; what comes after is dropped). The count survives an update of the toxic, as toxiproxy's
 * state does.
 */
export class LimitDataStage implements Stage {
  readonly takesLeases = true;
  readonly heldBytes = 0;
  /** Bytes passed on so far. */
  sentBytes: number;
  private context!: StageContext;
  private closing = false;

  constructor(
    private readonly limitBytes: number,
    carriedOver?: LimitDataStage,
  ) {
    this.sentBytes = carriedOver?.sentBytes ?? 0;
  }

  attach(context: StageContext): void {
    this.context = context;
  }

  write(chunk: Buffer, lender: Lender | null): void {
    const room = Math.max(0, this.limitBytes - this.sentBytes);
    if (chunk.length <= room) this.context.next.write(chunk, lender);
    else {
      // A view of a lent chunk is not what the lender lent: pass a copy of the part that fits.
      if (room > 0) this.context.next.write(Buffer.from(chunk.subarray(0, room)), null);
      lender?.giveBack(chunk, true);
    }
    this.sentBytes += Math.min(chunk.length, room);
    if (this.sentBytes >= this.limitBytes && !this.closing) {
      this.closing = true;
      this.context.connection.close('limit_data');
    }
  }

  end(): void {
    this.context.next.end();
  }

  close(): void {}
}
