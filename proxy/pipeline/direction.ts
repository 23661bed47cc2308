/**
 * One direction of a connection, from a source to a sink, as a pipeline:
 *
 *            +--------------------------------- holds (window, rate, disk, toxic) ----------------+
 *            v                                                                                    |
 *   source --Valve--> reader --deliver--> stage --> stage --> ... --> SinkWriter --write--> sink   |
 *   (socket,  pause/   (onread, 'data',    (messages +     (rate,        |  pending bytes,        |
 *    stream)  resume    tunnel stream)      overflow)       toxics)      |  flush callbacks ------+
 *                                                                        v
 *                                                  window: pending >= high -> hold 'window',
 *                                                          <= low (half) -> release
 *
 * Exactly one owner pauses and resumes the source: the Valve, holding a set of reasons and
 * reading only while the set is empty. Stages never touch the source: a stage holds its
 * upstream, which is the Valve, or the gate of the nearest queueing stage before it (the
 * message stage decides for itself what a full window means: queue, drop, spill or hold).
 * The window is kept by that queueing stage if there is one, else by the direction over the
 * bytes the sink has not flushed. Everything the direction holds is charged to the memory budget,
 * except chunks whose lender charges their memory itself (a BlockPool charges whole blocks).
 * A reader may hold the Valve too ('memory': no block to read into).
 */
import type { Writable } from 'node:stream';
import { DirectionWindow, type DirectionWindowOptions } from '../../windowing/direction-window.js';
import { HoldLedger } from '../../windowing/hold-ledger.js';
import { SinkWriter, type SinkEvents } from './sink-writer.js';
import type { ConnectionActions, Downstream, Holdable, Lender, ReadTarget, SourceReader, Stage, StageContext, StageExit } from './types.js';
import { Valve } from './valve.js';

/** A direction's ledger of held time as others may read it. */
export type HoldLedgerView = Pick<HoldLedger<object>, 'isHeld' | 'pauses' | 'lastPauseMs' | 'reasons' | 'isHeldBy' | 'currentPauseMs' | 'heldBackMs'>;

const NO_STAGES: Stage[] = [];

// The ledger of every direction never held yet: nothing ever holds through it.
const NEVER_HELD: HoldLedgerView = new HoldLedger<object>();

// What a stage may do to the connection when the direction was given nothing to act on.
const NO_CONNECTION: ConnectionActions = { close: () => {}, reset: () => {} };

// The window a stage measures itself against when the direction has none (a zero window).
const FALLBACK_WINDOW_BYTES = 256 * 1024;

/** What a direction is built from. */
export interface DirectionOptions {
  reader: SourceReader;
  sink: Writable;
  /** In order from the source to the sink. */
  stages?: readonly Stage[];
  /** The window, or what to make it from when it is first needed (an idle direction never needs it). */
  window: DirectionWindow | DirectionWindowOptions;
  now: () => number;
  /** Told how long the window held the source each time it lets go (a drain-time sample). */
  onWindowResume?: (heldMs: number) => void;
  /**
   * Coalesce the writes of one tick into one writev (see SinkWriter). Default: when the reader
   * delivers bursts or a stage emits them.
   */
  coalesceWrites?: boolean;
  /** What a stage may do to the whole connection (a toxic that closes or resets it). */
  connection?: ConnectionActions;
  /** Told once the source sent its end (FIN), as it reaches the first stage (the relay's half-close clock). */
  onSourceEnd?: () => void;
}

/** A stage's context as the direction keeps it: rewired in place when stages come and go. */
interface LiveContext extends StageContext {
  next: Downstream;
  upstream: Holdable;
}

/** See the module comment. */
export class Direction implements ReadTarget, SinkEvents {
  /** Bytes read from the source. */
  bytesRead = 0;
  /** Bytes read after finish(), thrown away. */
  discardedBytes = 0;
  private readonly reader: SourceReader;
  // NO_STAGES (shared, never changed) until the first stage comes: most directions have none.
  private stages: Stage[];
  // Made when the first stage comes: a plain relay has none, and an empty Map is some 200 bytes.
  private contexts: Map<Stage, LiveContext> | null = null;
  // The valve, the sink writer and the window are made when first needed (a hold, the first byte
  // or end, a stage, a look at the window): an idle connection's directions never need them.
  private valveNow: Valve | null = null;
  private writerNow: SinkWriter | null = null;
  private windowNow: DirectionWindow | null;
  private readonly windowOptions: DirectionWindowOptions | null;
  private readonly sink: Writable;
  private readonly coalesce: boolean;
  private constructed = false;
  // What the reader delivers to: the first stage, or (null) the sink writer.
  private first: Downstream | null = null;
  private firstTakesLeases = true;
  /** False when a queueing stage keeps the window itself. */
  private windowed = true;
  private windowHeldAtMs = 0;
  private readonly now: () => number;
  private readonly onWindowResume: ((heldMs: number) => void) | undefined;
  private readonly connection: ConnectionActions;
  private readonly onSourceEnd: (() => void) | undefined;
  private started = false;
  private stopped = false;
  private finished = false;
  private sourceEnded = false;

  constructor(options: DirectionOptions) {
    this.now = options.now;
    this.reader = options.reader;
    this.sink = options.sink;
    const window = options.window;
    this.windowNow = window instanceof DirectionWindow ? window : null;
    this.windowOptions = window instanceof DirectionWindow ? null : window;
    this.onWindowResume = options.onWindowResume;
    this.connection = options.connection ?? NO_CONNECTION;
    this.onSourceEnd = options.onSourceEnd;
    const stages = options.stages;
    if (!stages || stages.length === 0) {
      // A plain relay's directions: no stages, nothing to wire (rewire() would find the same).
      this.stages = NO_STAGES;
      this.coalesce = options.coalesceWrites ?? this.reader.deliversBursts === true;
    } else {
      this.stages = [...stages];
      this.coalesce = options.coalesceWrites ?? (this.reader.deliversBursts === true || this.stages.some((s) => s.emitsBursts === true));
      for (const stage of this.stages) this.contextMap.set(stage, this.contextFor());
      this.rewire();
      for (const stage of this.stages) stage.attach(this.contextMap.get(stage)!);
    }
    // Holds recorded until now (a stage that holds from attach) act on the reader from start() on.
    this.constructed = true;
    this.valveNow?.attach(this.reader);
  }

  /** The one owner of the source's pause state, with the ledger of held time. */
  get valve(): Valve {
    if (!this.valveNow) {
      this.valveNow = new Valve(this.now);
      if (this.constructed) this.valveNow.attach(this.reader);
    }
    return this.valveNow;
  }

  /** The ledger of held time, read-only (a direction never held shares an empty one). */
  get ledger(): HoldLedgerView {
    return this.valveNow?.ledger ?? NEVER_HELD;
  }

  /** The window (made on first use). */
  get window(): DirectionWindow {
    return (this.windowNow ??= new DirectionWindow(this.windowOptions!));
  }

  private get writer(): SinkWriter {
    return (this.writerNow ??= new SinkWriter(this.sink, this, { coalesce: this.coalesce }));
  }

  /** The stages now, from the source to the sink. */
  get stageList(): readonly Stage[] {
    return this.stages;
  }

  /**
   * Adds a stage next to the sink, into a live direction (a toxic added while connections are
   * open): from now on everything that reaches the sink passes through it first.
   */
  addStage(stage: Stage, before?: Stage): void {
    if (this.stopped) return stage.close();
    const context = this.contextFor();
    this.contextMap.set(stage, context);
    const at = before ? this.stages.indexOf(before) : -1;
    if (this.stages === NO_STAGES) this.stages = [];
    if (at === -1) this.stages.push(stage);
    else this.stages.splice(at, 0, stage);
    this.rewire();
    stage.attach(context);
  }

  /**
   * Puts `replacement` where `stage` is (a toxic updated in place): it takes over what `stage` holds
   * when it can adopt it (Stage.adopt), else `stage` first hands on what it holds, as on removal.
   */
  replaceStage(stage: Stage, replacement: Stage): void {
    const i = this.stages.indexOf(stage);
    if (i === -1) return this.addStage(replacement);
    if (this.stopped) return replacement.close();
    if (!replacement.adopt) {
      const after = this.stages[i + 1];
      this.removeStage(stage, 'updated');
      return this.addStage(replacement, after);
    }
    // The old stage keeps its context (its next is what follows both) in case it must flush.
    const context = this.contextFor();
    this.contextMap.set(replacement, context);
    this.contextMap.delete(stage);
    this.stages[i] = replacement;
    this.rewire();
    replacement.attach(context);
    if (!replacement.adopt(stage)) stage.flush?.('updated');
    stage.close();
  }

  /**
   * Ends the direction from its source on, as if the source had sent FIN now: what the stages hold
   * still goes out in order, then the end; anything read after this is discarded (given back,
   * counted in discardedBytes). How a toxic closes a connection without losing what it let through.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.sourceEnded) (this.first ?? this.writer).end();
  }

  /**
   * Takes a stage out of a live direction without losing a byte: it first hands everything it holds
   * (and an end it was holding back) to what follows it, lets go of its holds, and only then is it
   * unlinked, so what it held reaches the sink before anything that comes after.
   */
  removeStage(stage: Stage, why: StageExit = 'removed'): void {
    const i = this.stages.indexOf(stage);
    if (i === -1) return;
    stage.flush?.(why);
    this.stages.splice(i, 1);
    this.contextMap.delete(stage);
    this.rewire();
    stage.close();
  }

  // Each stage's upstream is the gate of the nearest queueing stage before it, or the Valve; its
  // next is the stage after it, or the sink writer. Contexts are updated in place. Without stages
  // the reader delivers to the sink writer (first: null), and the valve and writer wait.
  private rewire(): void {
    this.firstTakesLeases = this.stages[0]?.takesLeases ?? true;
    if (this.stages.length === 0) {
      this.windowed = true;
      this.first = null;
      return;
    }
    let upstream: Holdable = this.valve;
    for (const stage of this.stages) {
      this.contextMap.get(stage)!.upstream = upstream;
      if (stage.gate) upstream = stage.gate;
    }
    this.windowed = upstream === this.valve;
    let next: Downstream = this.writer;
    for (let i = this.stages.length - 1; i >= 0; i--) {
      this.contextMap.get(this.stages[i]!)!.next = next;
      next = inputOf(this.stages[i]!);
    }
    this.first = next;
  }

  private get contextMap(): Map<Stage, LiveContext> {
    return (this.contexts ??= new Map());
  }

  private contextFor(): LiveContext {
    const direction = this;
    const context: LiveContext = {
      next: this.writer,
      upstream: this.valve,
      pendingAfter: () => direction.pendingAfterStage(context),
      now: this.now,
      connection: this.connection,
      windowBytes: () => this.window.roomBytes(0, FALLBACK_WINDOW_BYTES),
      budgetShare: (baseBytes: number) => this.window.scaled(baseBytes),
    };
    return context;
  }

  private pendingAfterStage(context: StageContext): number {
    for (let i = 0; i < this.stages.length; i++) if (this.contextMap.get(this.stages[i]!) === context) return this.pendingFrom(i + 1);
    return this.sinkPendingBytes();
  }

  // What the sink has not flushed (with the slack lent chunks pin): the writer's count once there is one.
  private sinkPendingBytes(): number {
    return this.writerNow ? this.writerNow.pendingBytes : this.sink.writableLength;
  }

  /** True once the source ended and the end reached the sink. */
  get ended(): boolean {
    return this.writerNow?.ended ?? false;
  }

  /** True once the source sent its end (FIN), even while stages still hold data and the end. */
  get sourceDone(): boolean {
    return this.sourceEnded;
  }

  /** Bytes the sink has flushed onward. */
  get deliveredBytes(): number {
    return this.writerNow ? this.writerNow.flushedBytes : 0 - this.sink.writableLength; // as a writer that wrote nothing yet counts
  }

  /** Bytes the direction holds: in stages and written but not flushed (plus pinned slack). */
  get heldBytes(): number {
    return this.pendingFrom(0);
  }

  /** True while the source is held, for any reason. */
  get isHeld(): boolean {
    return this.valveNow?.isHeld ?? false;
  }

  /** Starts reading (unless something already holds the source). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.reader.start(this);
    // A reader may start flowing by itself ('data' listeners resume a stream): a hold recorded
    // before start (a stage that holds from attach, as stall does) must pause it again.
    if (!this.isHeld && !this.stopped) this.reader.resume();
    else this.reader.pause();
  }

  /** Stops for good (both sides closed): the reader stops, stages and the sink let go, the budget is given back. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.reader.stop();
    for (const stage of this.stages) stage.close();
    this.writerNow?.abandon();
    this.windowNow?.release();
  }

  // ReadTarget, for the reader.

  get takesLeases(): boolean {
    return this.firstTakesLeases;
  }

  deliver(chunk: Buffer, lender: Lender | null): void {
    this.bytesRead += chunk.length;
    if (this.finished) {
      this.discardedBytes += chunk.length;
      lender?.giveBack(chunk, true);
      return;
    }
    (this.first ?? this.writer).write(chunk, lender);
    if (this.stages.length > 0) this.charge();
  }

  end(): void {
    this.sourceEnded = true;
    if (!this.finished) (this.first ?? this.writer).end();
    this.onSourceEnd?.();
  }

  private pendingFrom(index: number): number {
    let bytes = this.sinkPendingBytes();
    for (let i = index; i < this.stages.length; i++) bytes += this.stages[i]!.heldBytes;
    return bytes;
  }

  // Charges the budget with what the direction holds, less what a lender charges itself (pooled blocks).
  private charge(): void {
    this.window.charge(Math.max(0, this.heldBytes - (this.writerNow?.lenderChargedBytes ?? 0)));
  }

  // SinkEvents, for the writer (the direction is its own listener: no closures per direction).

  /** After every write to the sink; `full` when its write() returned false. */
  wrote(full: boolean): void {
    this.charge();
    if (this.windowed) this.applyWindow(full);
  }

  /** After every write the sink flushed. */
  flushed(): void {
    if (this.stopped) return;
    for (let i = this.stages.length - 1; i >= 0; i--) this.stages[i]!.drained?.();
    this.charge();
    if (this.windowed) this.applyWindow(false);
  }

  private applyWindow(full: boolean): void {
    const action = this.window.update(this.writer.pendingBytes, full);
    if (action === 'pause') {
      this.windowHeldAtMs = this.now();
      this.valve.hold(this, 'window'); // the direction itself holds for its window
    } else if (action === 'resume') {
      this.valve.release(this);
      this.onWindowResume?.(this.now() - this.windowHeldAtMs);
    }
  }
}

// A stage that keeps views of chunks is handed copies: whatever lent a chunk gets it back at once.
function inputOf(stage: Stage): Downstream {
  if (stage.takesLeases) return stage;
  return {
    write(chunk, lender) {
      if (!lender) return stage.write(chunk, null);
      const copy = Buffer.from(chunk);
      lender.giveBack(chunk, true);
      stage.write(copy, null);
    },
    end: () => stage.end(),
  };
}
