import { HoldLedger, type HoldReason } from '../../windowing/hold-ledger.js';
import type { Holdable, SourceReader } from './types.js';

/**
 * The one owner that pauses and resumes a direction's source. Stages, the window and the sink
 * hold it for their reasons; it pauses the reader when the first hold arrives and resumes it
 * only when the last one is gone, so two reasons can never undo each other.
 */
export class Valve implements Holdable {
  readonly ledger = new HoldLedger<object>();
  private reader: SourceReader | null = null;

  constructor(private readonly now: () => number) {}

  /** The reader to act on; until then holds are only recorded (start() reads only if free). */
  attach(reader: SourceReader): void {
    this.reader = reader;
  }

  /** True while anything holds the source. */
  get isHeld(): boolean {
    return this.ledger.isHeld;
  }

  hold(holder: object, reason: HoldReason): void {
    if (this.ledger.hold(holder, reason, this.now()) === 'pause') this.reader?.pause();
  }

  release(holder: object): void {
    if (this.ledger.release(holder, this.now()) === 'resume') this.reader?.resume();
  }
}
