/**
 * How a relay that closes a connection politely (a timeout, a toxic) lets one side go. What the
 * stages still hold toward the side goes out first, however long they hold it (a latency toxic);
 * then our FIN, and from the moment it is out the peer has `graceMs` to close its end before it is
 * closed for it. A peer that takes nothing of what is still owed it for `graceMs` (it stopped
 * reading) is reset instead: bytes that will never arrive must not be followed by a clean FIN.
 *
 *   FIN out ----------------------- graceMs ---> close
 *   bytes owed, the peer reads ---- (no limit) -> ... FIN out
 *   bytes owed, the peer stopped -- graceMs ---> reset
 */

/** What the relay sees of one side now. */
export interface ClosingSide {
  /** When our FIN to the side was out (everything before it flushed); null while not yet. */
  finOutAtMs: number | null;
  /** Bytes toward the side flushed so far. */
  deliveredBytes: number;
  /** Bytes written toward the side and not flushed: the peer has not taken them. */
  unflushedBytes: number;
}

/** What to do with the side now: nothing until `untilMs` (look again then), close it, or reset it. */
export type GraceDecision = { readonly action: 'wait'; readonly untilMs: number } | { readonly action: 'close' } | { readonly action: 'reset' };

const CLOSE: GraceDecision = Object.freeze({ action: 'close' });
const RESET: GraceDecision = Object.freeze({ action: 'reset' });

/** One side's grace while its relay closes; see the module comment. */
export class CloseGrace {
  private lastDeliveredBytes: number;
  private lastProgressMs: number;

  constructor(
    readonly graceMs: number,
    nowMs: number,
    deliveredBytes: number,
  ) {
    this.lastDeliveredBytes = deliveredBytes;
    this.lastProgressMs = nowMs;
  }

  /** Decides for `side` at `nowMs`; call again by the `untilMs` of a wait, or when the FIN is out. */
  decide(side: ClosingSide, nowMs: number): GraceDecision {
    if (side.finOutAtMs !== null) {
      const dueMs = side.finOutAtMs + this.graceMs;
      return nowMs >= dueMs ? CLOSE : { action: 'wait', untilMs: dueMs };
    }
    // The peer took something, or nothing waits on it (what is owed is still in the stages, which
    // pass it on in their own time): its clock starts again.
    if (side.deliveredBytes !== this.lastDeliveredBytes || side.unflushedBytes === 0) {
      this.lastDeliveredBytes = side.deliveredBytes;
      this.lastProgressMs = nowMs;
    }
    const dueMs = this.lastProgressMs + this.graceMs;
    return nowMs >= dueMs ? RESET : { action: 'wait', untilMs: dueMs };
  }
}
