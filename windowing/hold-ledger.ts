/**
 * Why a source is held and for how long: the one owner of a direction's source keeps a set of
 * holds (each by a holder, with a reason: the window is full, a rate is being paid back, the
 * spill disk is busy, a toxic stalls it, memory is short) and reads the source only while the set is empty. This
 * is the pure half of that owner: it says when the set turned non-empty (pause the source) and
 * empty again (resume it), and keeps the ledger the access log and pressure read.
 * It never looks at a clock: callers pass `nowMs`.
 */

/**
 * Why a source is held: `window` (the slow side is behind), `rate`, `disk` (spill busy), `toxic`,
 * `memory` (the reader has no block to read into: the memory budget is full).
 */
export type HoldReason = 'window' | 'rate' | 'disk' | 'toxic' | 'memory';

/** The set of holds on one source and the time it spent held; see the module comment. */
export class HoldLedger<Holder = object> {
  /** How many times the source went from free to held. */
  pauses = 0;
  /** How long the most recent hold lasted, once it has ended. */
  lastPauseMs = 0;
  // Made on the first hold: most sources (idle connections, short ones) are never held, and an
  // empty Map is some 200 bytes, twice per connection.
  private holds: Map<Holder, HoldReason> | null = null;
  private heldBackTotalMs = 0;
  private heldSinceMs: number | null = null;

  /** True while anything holds the source. */
  get isHeld(): boolean {
    return this.heldSinceMs !== null;
  }

  /** The reasons the source is held now (each reason once). */
  reasons(): HoldReason[] {
    return this.holds ? [...new Set(this.holds.values())] : [];
  }

  /** True while `holder` holds the source. */
  isHeldBy(holder: Holder): boolean {
    return this.holds?.has(holder) ?? false;
  }

  /**
   * Adds (or re-labels) `holder`'s hold; returns 'pause' when the source was free until now.
   */
  hold(holder: Holder, reason: HoldReason, nowMs: number): 'pause' | null {
    (this.holds ??= new Map()).set(holder, reason);
    if (this.heldSinceMs !== null) return null;
    this.heldSinceMs = nowMs;
    this.pauses++;
    return 'pause';
  }

  /** Removes `holder`'s hold, if any; returns 'resume' when that left the source free. */
  release(holder: Holder, nowMs: number): 'resume' | null {
    if (!this.holds?.delete(holder) || this.holds.size > 0 || this.heldSinceMs === null) return null;
    this.lastPauseMs = Math.max(0, nowMs - this.heldSinceMs);
    this.heldBackTotalMs += this.lastPauseMs;
    this.heldSinceMs = null;
    return 'resume';
  }

  /** How long the hold in progress has lasted (0 when free). */
  currentPauseMs(nowMs: number): number {
    return this.heldSinceMs === null ? 0 : Math.max(0, nowMs - this.heldSinceMs);
  }

  /** Total time the source has been held, including a hold still in progress. */
  heldBackMs(nowMs: number): number {
    return this.heldBackTotalMs + this.currentPauseMs(nowMs);
  }
}
