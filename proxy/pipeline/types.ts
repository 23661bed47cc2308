import type { HoldReason } from '../../windowing/hold-ledger.js';

export type { HoldReason };

/**
 * Something a stage can hold back: the direction's source (through its one owner, the Valve) or
 * the output of a queueing stage before it. Holds are per holder; the flow goes on only when no
 * holder is left.
 */
export interface Holdable {
  /** Adds (or re-labels) `holder`'s hold. */
  hold(holder: object, reason: HoldReason): void;
  /** Removes `holder`'s hold, if it has one. */
  release(holder: object): void;
}

/**
 * Who lent a chunk that is not the pipeline's to keep (a pooled read buffer, a tunnel stream's
 * bytes that earn credit once taken). Told exactly once when the chunk is no longer referenced:
 * flushed by the sink, dropped by a stage, or failed.
 */
export interface Lender {
  /** `consumed`: the bytes left the pipeline as intended (flushed or deliberately dropped). */
  giveBack(chunk: Buffer, consumed: boolean): void;
  /** Bytes the chunk pins beyond its own length (a pooled buffer's unused tail); counted against the window. */
  slackOf(chunk: Buffer): number;
  /**
   * True when the lender charges the memory behind its chunks to the memory budget itself (a
   * BlockPool charges whole blocks): the direction then leaves those bytes out of its own charge.
   */
  readonly chargesBudget?: boolean;
  /**
   * Instead of giveBack, when the sink was closed with the chunk still in a write that may never
   * call back (and may still be sending from it): the lender must never reuse that memory, but
   * may stop counting it. Without this the chunk is simply forgotten.
   */
  forsake?(chunk: Buffer): void;
}

/** Where a reader sends what it reads: the direction. */
export interface ReadTarget {
  /** Takes a chunk; `lender` is null for a chunk the pipeline may keep. */
  deliver(chunk: Buffer, lender: Lender | null): void;
  /** The source ended (FIN). */
  end(): void;
  /** False when the first stage keeps views of chunks: a reader must then hand over copies. */
  readonly takesLeases: boolean;
  /**
   * The direction's source owner: a reader holds it for a reason of its own ('memory': it has no
   * block to read into) instead of pausing its source behind the Valve's back.
   */
  readonly valve: Holdable;
}

/**
 * How a direction reads its source. Readers differ only in how they read (onread into pooled
 * blocks, 'data' events, a tunnel stream); pausing and resuming is for the direction's Valve only
 * (a reader that must stop holds the target's valve like any stage would).
 */
export interface SourceReader {
  /** Starts delivering to `target` (reads that arrived before are delivered first). */
  start(target: ReadTarget): void;
  /** Stops reading until resume(). */
  pause(): void;
  resume(): void;
  /** Stops delivering for good (the direction is finished) and frees what the reader holds. */
  stop(): void;
  /**
   * Before start(), while the connection waits for a slot: reads a little (one small read) and
   * calls `onFirstBytes` when the peer says something, keeping what it read for start().
   */
  awaitFirstBytes(onFirstBytes: () => void): void;
  /** Stops what awaitFirstBytes started (reading stays stopped). */
  stopAwaiting(): void;
  /** True when one read delivers many small chunks at once (a tunnel link read): the sink should coalesce them. */
  readonly deliversBursts?: boolean;
}

/** What follows a stage: the next stage, or the sink writer. */
export interface Downstream {
  write(chunk: Buffer, lender: Lender | null): void;
  /** No more writes: pass the end on once everything held was passed on. */
  end(): void;
}

/** Why a stage leaves a live direction: taken out for good, or replaced by a new version of itself. */
export type StageExit = 'removed' | 'updated';

/** What a stage may do to the whole connection it is in. */
export interface ConnectionActions {
  /**
   * Closes both sides politely, as a timeout does: each direction ends as if its source had sent
   * FIN now (what the stages hold still goes out first), and whatever arrives after is discarded.
   */
  close(why: string): void;
  /** Resets both sides (RST), as a crashed peer would. */
  reset(why: string): void;
}

/**
 * What a stage is given when it is wired into a direction. `next` and `upstream` change when
 * stages are added or removed around it: read them from the context each time, don't keep them.
 */
export interface StageContext {
  /** Where what the stage lets through goes. */
  readonly next: Downstream;
  /** What feeds this stage: hold it to stop the flow into the stage. */
  readonly upstream: Holdable;
  /** Bytes held after this stage: later stages plus what the sink has not flushed. */
  pendingAfter(): number;
  /** The direction's clock, in milliseconds. */
  now(): number;
  /** The connection the direction belongs to. */
  readonly connection: ConnectionActions;
  /** The direction's window now (shrunk by the memory budget as it fills): what a queueing stage may keep. */
  windowBytes(): number;
  /**
   * A stage's own allowance `baseBytes` shrunk as the memory budget fills, in proportion as the
   * windows are: what many connections' stages hold together stays near the budget.
   */
  budgetShare(baseBytes: number): number;
}

/**
 * One step of a direction between its reader and its sink writer: message framing and the
 * overflow policy, a rate limit, a toxic. A stage never pauses the source itself; it holds its
 * upstream, and only the direction's Valve acts on the source.
 */
export interface Stage {
  /** Wires the stage in; called once before the first write. */
  attach(context: StageContext): void;
  /** A chunk from upstream; `lender` (only when takesLeases) must be passed on or given back. */
  write(chunk: Buffer, lender: Lender | null): void;
  /** Upstream ended: pass it on once what the stage holds is passed on. */
  end(): void;
  /** Bytes held here now (charged to the memory budget with the rest of the direction). */
  readonly heldBytes: number;
  /** False when the stage keeps views of chunks beyond write(): it is then given copies. */
  readonly takesLeases: boolean;
  /** True when the stage writes many small pieces at once (messages): the sink coalesces a tick's writes. */
  readonly emitsBursts?: boolean;
  /**
   * A stage that queues offers its own gate: what follows it holds that gate instead of the
   * source (the stage then decides: queue, drop, spill, or hold its own upstream).
   */
  readonly gate?: Holdable;
  /** The sink flushed bytes: a queueing stage may pass more on. */
  drained?(): void;
  /**
   * Taken out of a live direction: hand everything held (and an end held back) to `next` now,
   * release every hold, cancel timers. A stage that holds nothing need not have it. `why`:
   * `removed` for good, or `updated` (a toxic's new version took its place, or drew it out).
   */
  flush?(why?: StageExit): void;
  /**
   * Replacing `previous`, an earlier version of the same stage (a toxic updated in place): takes over
   * what it holds and the time it keeps, so an update neither flushes nor restarts anything that
   * should carry on. False when it cannot (`previous` is then flushed as on removal). Called once
   * this stage is attached where `previous` was; `previous` is closed after.
   */
  adopt?(previous: Stage): boolean;
  /** The direction is finished: cancel timers and let go of what is held. */
  close(): void;
}
