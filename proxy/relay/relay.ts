import type { Duplex } from 'node:stream';
import { CloseGrace } from '../../windowing/close-grace.js';
import type { DropReason } from '../../windowing/message-queue.js';
import type { MemoryBudget } from '../../windowing/memory-budget.js';
import { TimerWheel, type WheelEntry } from '../../windowing/timer-wheel.js';
import { resetOrDestroy } from '../net/reset.js';
import { Direction, type ConnectionActions, type DirectionOptions, type SourceReader, type Stage } from '../pipeline/index.js';
import { StreamReader } from '../reads/stream-reader.js';
import { MessageStage, RateStage, type MessageModeOptions } from '../stages/index.js';
import { MAX_MESSAGE_LIMIT_BYTES, MESSAGE_FRAMINGS } from '../../windowing/message-framer.js';
import { OVERFLOW_POLICIES } from '../../windowing/message-queue.js';
import { checkOptions, durationMs, finite, func, object, oneOf, OptionRangeError, whole, type Checks } from './option-checks.js';

/** How a relayed connection ended. */
export type RelayEnd =
  | 'closed' // both sides finished cleanly (FIN both ways)
  | 'client-reset'
  | 'target-reset'
  | 'client-error'
  | 'target-error'
  | 'idle-timeout'
  | 'half-close-timeout' // one side sent FIN and the other did not finish within --half-close-timeout
  | 'message-too-large' // a message over --max-message: what came before it was delivered, then closed
  | 'toxic-closed' // a toxic closed it (timeout, limit_data): FIN each way after what was let through
  | 'toxic-reset' // a reset_peer toxic reset both sides
  | 'aborted'; // torn down by the owner (shutdown deadline, memory pressure)

/** Counters for one direction. */
export interface DirectionStats {
  bytes: number;
  pauses: number;
  heldBackMs: number;
}

/** What a finished relay reports (one access-log line's worth). */
export interface RelayResult {
  end: RelayEnd;
  durationMs: number;
  clientToTarget: DirectionStats;
  targetToClient: DirectionStats;
  /** The error code or message behind an '-error' or '-reset' end; the toxic's type behind a 'toxic-' one. */
  error?: string;
  /** Message mode only: whole messages forwarded and dropped (by reason), client to target. */
  messages?: MessageCounts;
}

/** Message counters of one connection in message mode. */
export interface MessageCounts {
  forwarded: number;
  dropped: Record<DropReason, number>;
}

/** What waits in a message-mode connection now: in RAM, and on disk (spill). */
export interface MessageBacklog {
  queuedMessages: number;
  queuedBytes: number;
  spilledMessages: number;
  spilledBytes: number;
}

/** Flow-control options for a relay. */
export interface RelayOptions {
  /** Bytes allowed to wait for each side before the other is paused. Default 256 KiB. */
  windowBytes?: number;
  /** Resume threshold; defaults to half the window. */
  lowBytes?: number;
  /** Close after this long with no bytes moving either way; 0 (default) disables. */
  idleTimeoutMs?: number;
  /** When the connection last moved a byte, on the `now` clock, if before this relay began (time spent queued counts as idle). */
  quietSinceMs?: number;
  /** Once one side has sent FIN, the other has this long to finish too; 0 (default) disables. */
  halfCloseTimeoutMs?: number;
  /** Clock for held-back time, in milliseconds. Default performance.now. */
  now?: () => number;
  /** How each side is read; default: its ordinary 'data' events (a StreamReader). */
  clientReader?: SourceReader;
  targetReader?: SourceReader;
  /** Process-wide budget the buffered bytes are charged to; windows shrink as it fills. */
  budget?: MemoryBudget;
  /** Called when a paused side resumes, with how long it was held back (a drain-time sample). */
  onResume?: (pausedMs: number) => void;
  /** Bytes per second allowed each way (a rate stage after the message stage, token bucket). */
  rateBytesPerS?: number;
  /**
   * The shared wheel the idle and half-close timeouts wait on (a server passes one for all its
   * connections); by default the relay makes its own.
   */
  timers?: WheelTimers;
  /** Message mode for the client-to-target direction (drop and spill strategies). */
  messages?: MessageModeOptions;
  /** More stages per direction, after the built-in ones (message mode, then the rate). */
  stages?: { clientToTarget?: readonly Stage[]; targetToClient?: readonly Stage[] };
  /** Called once the directions exist and before either reads a byte (bytes kept from before the relay began included): to add stages, e.g. toxics. */
  beforeStart?: (relay: Relay) => void;
  /** Told the result once both sides are closed (in a microtask, as `done` settles): what a table of many relays uses instead of a promise each. */
  onDone?: (result: RelayResult) => void;
}

/** Default per-direction window: the yamux stream window, between HAProxy's 16 KiB and Envoy's 1 MiB. */
export const DEFAULT_WINDOW_BYTES = 256 * 1024;

/** A relay's window: at least a byte (0 would let a side buffer without bound), at most what --window takes. */
export const WINDOW_BYTES_CHECK = whole(1, 2 ** 32 - 1);

/** What message mode takes, as relay() and RelayServer check it. */
export const MESSAGE_MODE_CHECKS: Checks<MessageModeOptions> = {
  framing: oneOf(MESSAGE_FRAMINGS),
  maxMessageBytes: whole(1, MAX_MESSAGE_LIMIT_BYTES),
  policy: oneOf(OVERFLOW_POLICIES),
  spool: object,
};

const RELAY_OPTION_CHECKS: Checks<RelayOptions> = {
  windowBytes: WINDOW_BYTES_CHECK,
  lowBytes: whole(0), // and below windowBytes: checkRelayOptions
  idleTimeoutMs: durationMs(0),
  quietSinceMs: finite,
  halfCloseTimeoutMs: durationMs(0),
  now: func,
  clientReader: object,
  targetReader: object,
  budget: object,
  onResume: func,
  rateBytesPerS: whole(0),
  timers: object,
  messages: object, // and what is in it: checkRelayOptions
  stages: object,
  beforeStart: func,
  onDone: func,
};

// Everything a relay is given is checked as it is made: the windows are built when first needed,
// from a socket's 'data' handler, where a bad value would crash the caller's process.
function checkRelayOptions(options: RelayOptions): void {
  checkOptions(options, RELAY_OPTION_CHECKS);
  const windowBytes = options.windowBytes ?? DEFAULT_WINDOW_BYTES;
  if (options.lowBytes !== undefined && options.lowBytes >= windowBytes) {
    throw new OptionRangeError('lowBytes', `below windowBytes (${windowBytes})`, options.lowBytes);
  }
  if (options.messages) checkOptions(options.messages, MESSAGE_MODE_CHECKS, ['framing', 'policy'], 'messages.');
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * How long close() gives a peer to close its end once our FIN to it is out before closing it, and
 * a peer that stopped reading what is still owed it before resetting it (windowing/close-grace.ts).
 */
export const CLOSE_GRACE_MS = 2000;

/**
 * Relays bytes both ways between two connected duplex streams (TCP, TLS, unix sockets,
 * in-memory pairs) with per-direction flow control, half-close (FIN passed on as end()),
 * and resets passed on as resets. Sockets are switched to allowHalfOpen so a client that
 * ends its side still receives the reply. Each direction is a pipeline (pipeline/direction.ts):
 *
 *   client --reader--> [messages + overflow] --> [rate] --> [stages...] --> target   (clientToTarget)
 *   client <-- [stages...] <-- [rate] <--reader-- target                             (targetToClient)
 */
export class Relay {
  readonly clientToTarget: Direction;
  readonly targetToClient: Direction;
  private readonly messageStage: MessageStage | null = null;
  private readonly now: () => number;
  private readonly startedMs: number;
  private end: RelayEnd | null = null;
  private toxicDrops = 0;
  private error: string | undefined;
  private openSides = 2;
  private readonly timers: WheelTimers | null = null;
  private idleEntry: IdleCheck | null = null;
  private halfCloseEntry: TimedEntry | null = null;
  private halfCloseTimeoutMs = 0;
  // While close() lets the sides go: the grace of the client and of the target, and when our FIN
  // to each was out.
  private closing: { graces: [CloseGrace, CloseGrace]; finOutAtMs: [number | null, number | null] } | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private readonly onDone: ((result: RelayResult) => void) | undefined;
  // `done` is made when first asked for (a relay in a table is told through onDone instead).
  private donePromise: Promise<RelayResult> | null = null;
  private resolveDone: ((result: RelayResult) => void) | null = null;
  private result: RelayResult | null = null;

  constructor(
    private readonly client: Duplex,
    private readonly target: Duplex,
    options: RelayOptions = {},
  ) {
    checkRelayOptions(options);
    this.now = options.now ?? (() => performance.now());
    this.startedMs = this.now();
    this.onDone = options.onDone;
    const halfCloseTimeoutMs = options.halfCloseTimeoutMs ?? 0;
    const idleTimeoutMs = options.idleTimeoutMs ?? 0;
    if (halfCloseTimeoutMs > 0 || idleTimeoutMs > 0) {
      this.timers = options.timers ?? new WheelTimers(wheelTickMs(Math.min(...[halfCloseTimeoutMs, idleTimeoutMs].filter((ms) => ms > 0))), this.now);
    }
    this.halfCloseTimeoutMs = halfCloseTimeoutMs;
    const windowBytes = options.windowBytes ?? DEFAULT_WINDOW_BYTES;
    if (options.messages) {
      this.messageStage = new MessageStage(options.messages, windowBytes, {
        tooLarge: () => this.onMessageTooLarge(),
        readBackFailed: (err) => this.target.destroy(err),
      });
    }
    // Built apart from this constructor's scope: what the directions keep must not hold `options`.
    // Both directions' options have one shape (no spreads, every key present): a relay is made per
    // connection, and options of many shapes make each construction miss V8's inline caches.
    const shared = sharedDirectionOptions(this, this.now, options, windowBytes, halfCloseTimeoutMs > 0 ? this.onFirstEnd : undefined);
    const upStages = stagesOf(options, this.messageStage, options.stages?.clientToTarget);
    const downStages = stagesOf(options, null, options.stages?.targetToClient);
    this.clientToTarget = new Direction(directionOptions(shared, options.clientReader ?? new StreamReader(client), target, upStages));
    this.targetToClient = new Direction(directionOptions(shared, options.targetReader ?? new StreamReader(target), client, downStages));

    (client as Duplex & { allowHalfOpen: boolean }).allowHalfOpen = true;
    (target as Duplex & { allowHalfOpen: boolean }).allowHalfOpen = true;
    // One listener each, shared state in the relay: no closure per side. 'close' comes once: `on`
    // spares the wrapper `once` allocates (per side, per connection).
    client.on('error', this.onClientError);
    target.on('error', this.onTargetError);
    client.on('close', this.onSideClose);
    if (client.destroyed) this.onSideClose();
    target.on('close', this.onSideClose);
    if (target.destroyed) this.onSideClose();
    options.beforeStart?.(this);
    this.clientToTarget.start();
    this.targetToClient.start();
    // The first FIN (a direction's source ending) starts the half-close clock; a side that ended
    // before the relay began (FIN while waiting for a slot) starts it now.
    if (halfCloseTimeoutMs > 0 && (client.readableEnded || target.readableEnded)) this.onFirstEnd();
    if (idleTimeoutMs > 0) this.idleEntry = new IdleCheck(this, this.timers!, idleTimeoutMs, this.startedMs, options.quietSinceMs ?? this.startedMs);
  }

  // The first FIN starts the half-close clock; a connection that finishes both ways closes before it rings.
  private readonly onFirstEnd = (): void => {
    if (this.openSides === 0 || this.halfCloseEntry || !this.timers) return;
    this.halfCloseEntry = { wheelTick: -1, onDue: () => this.close('half-close-timeout') };
    this.timers.at(this.halfCloseEntry, this.timers.now() + this.halfCloseTimeoutMs);
  };

  /** Settles once both sides are closed; never rejects. */
  get done(): Promise<RelayResult> {
    if (!this.donePromise) {
      const result = this.result;
      this.donePromise = result ? Promise.resolve(result) : new Promise((resolve) => (this.resolveDone = resolve));
    }
    return this.donePromise;
  }

  /** Bytes read but not yet flushed to the other side, both directions. */
  get bufferedBytes(): number {
    return this.clientToTarget.heldBytes + this.targetToClient.heldBytes;
  }

  /** True once the relay has finished. */
  get finished(): boolean {
    return this.openSides === 0;
  }

  /** Live counters. */
  stats(): { clientToTarget: DirectionStats; targetToClient: DirectionStats } {
    const now = this.now();
    return { clientToTarget: statsOf(this.clientToTarget, now), targetToClient: statsOf(this.targetToClient, now) };
  }

  /**
   * Closes both sides politely: FIN each way, so each peer sees an ordinary end and closes its
   * side too (a target then counts the connection gone before a freed slot is reused). Each
   * direction ends as if its source had sent FIN: what its stages hold goes first, however long
   * they hold it; what is read after that is discarded. A side that has not closed `graceMs` after
   * our FIN to it is closed; one that stops taking what is still owed it for `graceMs` is reset,
   * so lost bytes are never followed by a clean FIN (windowing/close-grace.ts). `end` is what the
   * result reports (unless the relay had ended already): by default 'closed', which is what the
   * peers saw, an ordinary FIN each way; timeouts and toxics pass their own.
   */
  close(end: RelayEnd = 'closed', graceMs = CLOSE_GRACE_MS): void {
    this.end ??= end;
    if (this.closing || this.openSides === 0) return;
    const now = this.now();
    this.closing = {
      graces: [new CloseGrace(graceMs, now, this.targetToClient.deliveredBytes), new CloseGrace(graceMs, now, this.clientToTarget.deliveredBytes)],
      finOutAtMs: [null, null],
    };
    this.clientToTarget.finish();
    this.targetToClient.finish();
    this.client.once('finish', () => this.onFinOut(0));
    this.target.once('finish', () => this.onFinOut(1));
    if (this.client.writableFinished) this.onFinOut(0);
    if (this.target.writableFinished) this.onFinOut(1);
    this.checkGrace();
  }

  private onFinOut(side: 0 | 1): void {
    if (!this.closing || this.closing.finOutAtMs[side] !== null) return;
    this.closing.finOutAtMs[side] = this.now();
    this.checkGrace();
  }

  // Carries out each side's grace decision, and looks again at the earliest time one asks for.
  private readonly checkGrace = (): void => {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    const closing = this.closing;
    if (!closing || this.openSides === 0) return;
    const now = this.now();
    let nextMs = Number.POSITIVE_INFINITY;
    for (const i of [0, 1] as const) {
      const side = i === 0 ? this.client : this.target;
      if (side.destroyed) continue;
      const toward = i === 0 ? this.targetToClient : this.clientToTarget;
      const decision = closing.graces[i].decide({ finOutAtMs: closing.finOutAtMs[i], deliveredBytes: toward.deliveredBytes, unflushedBytes: side.writableLength }, now);
      if (decision.action === 'close') side.destroy();
      else if (decision.action === 'reset') resetOrDestroy(side);
      else nextMs = Math.min(nextMs, decision.untilMs);
    }
    if (nextMs === Number.POSITIVE_INFINITY || this.openSides === 0) return;
    this.graceTimer = setTimeout(this.checkGrace, Math.max(1, Math.ceil(nextMs - now)));
    this.graceTimer.unref();
  };

  /** Tears the relay down now: both sides reset (or destroyed when `reset` is false). */
  abort(end: RelayEnd = 'aborted', reset = true): void {
    this.end ??= end;
    for (const side of [this.client, this.target]) {
      if (side.destroyed) continue;
      if (reset) resetOrDestroy(side);
      else side.destroy();
    }
  }

  /** A stage ended the connection (a toxic): closed politely, or reset; `why` names the toxic. */
  endFromStage(end: 'toxic-closed' | 'toxic-reset', why: string): void {
    if (this.end === null) [this.end, this.error] = [end, why];
    if (end === 'toxic-closed') this.close(end);
    else this.abort(end, true);
  }

  /** Message counters, in message mode. */
  messageCounts(): MessageCounts | undefined {
    if (!this.messageStage) return undefined;
    const q = this.messageStage.queue;
    // A drop toxic sits after the queue: what it dropped the queue counted as forwarded.
    return { forwarded: q.forwarded - this.toxicDrops, dropped: { ...q.dropped, toxic: this.toxicDrops } };
  }

  /** A `drop` toxic dropped one whole message. */
  countToxicDrop(): void {
    this.toxicDrops++;
  }

  /** What waits in the message queue and on disk now, in message mode. */
  messageBacklog(): MessageBacklog | undefined {
    if (!this.messageStage) return undefined;
    const q = this.messageStage.queue;
    return { queuedMessages: q.queuedMessages, queuedBytes: q.queuedBytes, spilledMessages: q.backlogMessages, spilledBytes: q.backlogBytes };
  }

  // The pump delivers what came before the oversized message and ends the target; the client,
  // whose stream can no longer be trusted, is closed once that is done.
  private onMessageTooLarge(): void {
    this.end ??= 'message-too-large';
    const closeAll = () => this.abort('message-too-large', false);
    if (this.target.writableFinished || this.target.destroyed) closeAll();
    else {
      this.target.once('finish', closeAll);
      this.target.once('close', closeAll);
    }
  }

  private readonly onClientError = (err: NodeJS.ErrnoException): void => this.onSideError('client', this.target, err);
  private readonly onTargetError = (err: NodeJS.ErrnoException): void => this.onSideError('target', this.client, err);

  private onSideError(name: 'client' | 'target', other: Duplex, err: NodeJS.ErrnoException): void {
    if (this.end === null) {
      const reset = err.code !== undefined && RESET_CODES.has(err.code);
      this.end = `${name}-${reset ? 'reset' : 'error'}`;
      this.error = err.code ?? err.message;
    }
    // A broken side cannot finish cleanly, so the other one learns it as a reset, not a FIN.
    if (!other.destroyed) resetOrDestroy(other);
  }

  private readonly onSideClose = (): void => {
    this.openSides--;
    if (this.openSides > 0) {
      // After FIN both ways the other side closes by itself once its writes flush. Otherwise
      // this side went away without an error event (destroyed by its owner): so must the other.
      const other = this.client.destroyed ? this.target : this.client;
      // The side that closed is done cleanly if we read its FIN and gave it ours: what it sent may
      // still be in stages (a toxic holding it back), on its way to the other side, which must
      // then get it, then the end, instead of a reset.
      const [fromClosed, toClosed] = other === this.target ? [this.clientToTarget, this.targetToClient] : [this.targetToClient, this.clientToTarget];
      const cleanlyDone = fromClosed.sourceDone && toClosed.ended;
      if (!cleanlyDone && !other.destroyed && !this.closing) {
        this.end ??= 'aborted';
        resetOrDestroy(other);
      } else if (this.closing && !other.destroyed) {
        // We are closing it (a timeout, a toxic): what the stages hold toward the other side still
        // goes out, then our FIN, and the peer need not answer with its own. Closed, not reset, once
        // our FIN is out: a reset could cost the peer the bytes it has not read yet. A peer that
        // never takes what it is owed is reset by its grace (checkGrace).
        if (other.writableFinished) other.destroy();
        else other.once('finish', () => other.destroy());
      }
      return;
    }
    if (this.idleEntry) this.timers?.cancel(this.idleEntry);
    this.idleEntry = null;
    if (this.halfCloseEntry) this.timers?.cancel(this.halfCloseEntry);
    this.halfCloseEntry = null;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.clientToTarget.stop();
    this.targetToClient.stop();
    const now = this.now();
    const result: RelayResult = (this.result = {
      end: this.end ?? 'closed',
      durationMs: Math.max(0, now - this.startedMs),
      clientToTarget: statsOf(this.clientToTarget, now),
      targetToClient: statsOf(this.targetToClient, now),
      // Both keys always there (undefined when not): one shape of result for every connection.
      error: this.error,
      messages: this.messageStage ? this.messageCounts()! : undefined,
    });
    this.resolveDone?.(result);
    const onDone = this.onDone;
    if (onDone) queueMicrotask(() => onDone(result));
  };

  /** Bytes read and flushed so far, both ways: the idle check's sign of life. */
  progress(): number {
    return this.clientToTarget.bytesRead + this.targetToClient.bytesRead + this.clientToTarget.deliveredBytes + this.targetToClient.deliveredBytes;
  }
}

/**
 * The idle timeout of one relay, on the shared wheel. Idle means no byte read or flushed in either
 * direction for a whole period. Checking a progress counter once a period costs nothing per chunk;
 * a connection that never sends is closed after one period, one that goes quiet within two (checks
 * fall due a period apart, each handed out less than a wheel tick late: see WheelTimers below).
 * A class, not a closure: one small object per connection.
 */
class IdleCheck implements TimedEntry {
  wheelTick = -1;
  private lastProgress: number;
  private dueMs: number;

  constructor(
    private readonly relay: Relay,
    private readonly timers: WheelTimers,
    private readonly idleTimeoutMs: number,
    startedMs: number,
    quietSinceMs: number,
  ) {
    this.lastProgress = relay.progress();
    this.dueMs = Math.max(startedMs, quietSinceMs + idleTimeoutMs);
    timers.at(this, this.dueMs);
  }

  onDue(): void {
    const p = this.relay.progress();
    if (p !== this.lastProgress) {
      this.lastProgress = p;
      this.dueMs += this.idleTimeoutMs;
      this.timers.at(this, this.dueMs);
      return;
    }
    this.relay.close('idle-timeout');
  }
}

// The options both directions of a relay share; made outside the relay's constructor so that the
// closures they hold keep nothing but the relay.
type SharedDirectionOptions = Pick<DirectionOptions, 'now' | 'connection' | 'window' | 'onWindowResume' | 'onSourceEnd'>;

function sharedDirectionOptions(relay: Relay, now: () => number, options: RelayOptions, windowBytes: number, onSourceEnd: (() => void) | undefined): SharedDirectionOptions {
  return {
    now,
    connection: new RelayActions(relay),
    // What each direction makes its window from when it first needs one (an idle one never does).
    window: { windowBytes, lowBytes: options.lowBytes, budget: options.budget },
    onWindowResume: options.onResume,
    onSourceEnd,
  };
}

function directionOptions(shared: SharedDirectionOptions, reader: SourceReader, sink: Duplex, stages: readonly Stage[]): DirectionOptions {
  return {
    reader,
    sink,
    stages,
    window: shared.window,
    now: shared.now,
    onWindowResume: shared.onWindowResume,
    coalesceWrites: undefined,
    connection: shared.connection,
    onSourceEnd: shared.onSourceEnd,
  };
}

// A direction's stages in order: the message stage (client to target only), the rate, then those
// given; none (shared, never changed) for a plain relay.
function stagesOf(options: RelayOptions, messages: MessageStage | null, given: readonly Stage[] | undefined): readonly Stage[] {
  if (!messages && !options.rateBytesPerS) return given ?? NO_STAGES;
  const stages: Stage[] = [];
  if (messages) stages.push(messages);
  if (options.rateBytesPerS) stages.push(new RateStage({ rateBytesPerS: options.rateBytesPerS }));
  if (given) stages.push(...given);
  return stages;
}

const NO_STAGES: readonly Stage[] = [];

/** What a stage may do to its relay: close or reset it, once the write it is in is over. One object per relay, no closures. */
class RelayActions implements ConnectionActions {
  constructor(private readonly relay: Relay) {}

  close(why: string): void {
    queueMicrotask(() => this.relay.endFromStage('toxic-closed', why));
  }

  reset(why: string): void {
    queueMicrotask(() => this.relay.endFromStage('toxic-reset', why));
  }
}

function statsOf(direction: Direction, now: number): DirectionStats {
  const ledger = direction.ledger;
  return { bytes: direction.bytesRead, pauses: ledger.pauses, heldBackMs: ledger.heldBackMs(now) };
}

/** Relays between two connected duplex streams; see Relay. */
export function relay(client: Duplex, target: Duplex, options: RelayOptions = {}): Relay {
  return new Relay(client, target, options);
}

// The shared timer of the idle and half-close timeouts lives here, not in a file of its own, for
// the descriptor reason given in access-log.ts (the relay's start under `ulimit -n 64`).

/** Something that comes due on a wheel. */
export interface TimedEntry extends WheelEntry {
  onDue(): void;
}

/** The finest tick a wheel gets (a timeout of 128 ms or less ticks every millisecond). */
export const MIN_WHEEL_TICK_MS = 1;
/** The coarsest: connections' timeouts of minutes and hours tick twice a second. */
export const MAX_WHEEL_TICK_MS = 500;
/** A wheel for a timeout ticks 128 times per timeout (at most every MAX_WHEEL_TICK_MS). */
export const WHEEL_TICKS_PER_TIMEOUT = 128;

/**
 * The tick for timeouts of `timeoutMs` (the shortest of them, when several share a wheel):
 * 1/128 of it, between 1 and 500 ms. A timeout fires no earlier than set and less than a tick
 * later (plus whatever else holds up the event loop): under 1/128 of it, under 0.5 s.
 */
export function wheelTickMs(timeoutMs: number): number {
  return Math.min(MAX_WHEEL_TICK_MS, Math.max(MIN_WHEEL_TICK_MS, Math.floor(timeoutMs / WHEEL_TICKS_PER_TIMEOUT)));
}

/**
 * A TimerWheel (windowing/timer-wheel.ts) on a clock, driven by one unref'd timer that wakes at
 * each tick boundary while anything is on the wheel and is cleared as soon as nothing is: the
 * idle and half-close timeouts of every connection of a server share it instead of holding a
 * timer each. Due times are read on `now` when the timer wakes, so a late wake-up (a busy event
 * loop) hands out everything due by then, never early and without drift.
 */
export class WheelTimers {
  private readonly wheel: TimerWheel<TimedEntry>;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;

  constructor(
    readonly tickMs: number,
    /** The clock, in ms (default performance.now); the same one the caller's due times are on. */
    readonly now: () => number = () => performance.now(),
  ) {
    this.wheel = new TimerWheel(tickMs);
  }

  /** Entries waiting. */
  get size(): number {
    return this.wheel.size;
  }

  /** Calls `entry.onDue()` once `now()` reaches `dueMs` (less than a tick later). */
  at(entry: TimedEntry, dueMs: number): void {
    this.wheel.at(entry, dueMs);
    this.arm();
  }

  /** Takes `entry` off the wheel; the timer stops once nothing is left on it. */
  cancel(entry: TimedEntry): void {
    this.wheel.cancel(entry);
    if (this.wheel.size === 0 && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private arm(): void {
    if (this.timer !== null || this.ticking || this.wheel.size === 0) return;
    const now = this.now();
    this.timer = setTimeout(this.onTick, Math.max(1, Math.ceil(this.wheel.nextTickMs(now) - now)));
    // Like the per-connection timers it replaces: a timeout never keeps the process alive.
    this.timer.unref();
  }

  private readonly onTick = (): void => {
    this.timer = null;
    this.ticking = true;
    try {
      for (const entry of this.wheel.due(this.now())) entry.onDue();
    } finally {
      this.ticking = false;
      this.arm();
    }
  };
}
