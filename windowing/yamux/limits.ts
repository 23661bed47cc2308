/**
 * Session options, their defaults and their validation, in one place. Every option is checked once,
 * at construction, with a message naming the option and its bound (InvalidOptionError).
 */
import {
  DEFAULT_ACCEPT_BACKLOG,
  DEFAULT_MAX_CONSECUTIVE_EMPTY_FRAMES,
  DEFAULT_MAX_OUTSTANDING_PINGS,
  DEFAULT_MAX_QUEUED_CONTROL_REPLIES,
  DEFAULT_MAX_SEND_FRAME_BYTES,
  DEFAULT_MAX_STREAM_WINDOW_BYTES,
  DEFAULT_MAX_STREAMS,
  DEFAULT_MIN_SEND_FRAME_BYTES,
  DEFAULT_RESET_BURST,
  DEFAULT_RESETS_PER_SECOND,
  DEFAULT_WINDOW_UPDATES_PER_DATA_FRAME,
  INITIAL_STREAM_WINDOW_BYTES,
  UINT32_MAX,
} from './constants.js';
import { InvalidOptionError } from './errors.js';

/** Which end of the link a session is: the dialer uses odd stream ids, the acceptor even ones. */
export type SessionRole = 'dialer' | 'acceptor';

/**
 * A process-wide ledger that auto-tuned window growth is drawn from, so many fast streams cannot
 * together grant more than it holds (MemoryBudget fits). Pure bookkeeping, like the session.
 */
export interface WindowGrowthBudget {
  /** Takes as much of `bytes` as fits and returns how much that was. */
  acquireUpTo(bytes: number): number;
  /** Gives back bytes taken earlier. */
  release(bytes: number): void;
}

/** Options for a Session; everything but `role` has a default. */
export interface SessionOptions {
  /** Which end of the link this is. */
  role: SessionRole;
  /** Receive window each stream starts with; at least the spec's 256 KiB (the extra is granted with SYN/ACK). */
  initialWindowBytes?: number;
  /**
   * Ceiling for auto-tuned receive windows; default 16 MiB, at most 2^32-1. It is also the longest
   * inbound data frame the decoder accepts, since no frame may exceed a window we granted.
   */
  maxWindowBytes?: number;
  /** Grow receive windows for fast consumers (default true). */
  autoTune?: boolean;
  /** Live streams allowed, both directions together; default 1000. Past it, new peer streams are reset. */
  maxStreams?: number;
  /** Streams opened but not yet acknowledged, per direction; default 256. Past it, new peer streams are reset. */
  acceptBacklog?: number;
  /** Longest outbound data frame; default 64 KiB. */
  maxSendFrameBytes?: number;
  /** Smallest piece a write is split into for lack of credit; default 1 KiB, at most half the initial window. */
  minSendFrameBytes?: number;
  /** Replies the peer forced (ping ACKs, refusals) allowed queued and unflushed; default 1000. */
  maxQueuedControlReplies?: number;
  /** Our own pings allowed awaiting a reply; default 10. */
  maxOutstandingPings?: number;
  /** Frames carrying nothing allowed back to back; default 1. */
  maxConsecutiveEmptyFrames?: number;
  /** Window updates accepted per data frame sent (Envoy's formula); default 10. */
  windowUpdatesPerDataFrame?: number;
  /** Peer resets allowed in a burst; default 1000. */
  resetBurst?: number;
  /** Peer resets allowed per second after the burst; default 33. */
  resetsPerSecond?: number;
  /**
   * Where growth beyond the initial window comes from (shared by every session of a process);
   * growth the budget cannot cover is not granted. Default null: no budget, only maxWindowBytes.
   */
  windowBudget?: WindowGrowthBudget | null;
}

/** SessionOptions with every default filled in and every bound checked. */
export type SessionLimits = Required<SessionOptions>;

function whole(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `a whole number in ${min}..${max}`, value);
  }
  return value;
}

/** Fills defaults and validates; throws InvalidOptionError naming the first bad option. */
export function resolveSessionOptions(options: SessionOptions): SessionLimits {
  if (options.role !== 'dialer' && options.role !== 'acceptor') {
    throw new InvalidOptionError('role', `'dialer' or 'acceptor'`, options.role);
  }
  const maxWindowBytes = whole('maxWindowBytes', options.maxWindowBytes ?? DEFAULT_MAX_STREAM_WINDOW_BYTES, INITIAL_STREAM_WINDOW_BYTES, UINT32_MAX);
  const initialWindowBytes = whole(
    'initialWindowBytes',
    options.initialWindowBytes ?? INITIAL_STREAM_WINDOW_BYTES,
    INITIAL_STREAM_WINDOW_BYTES,
    maxWindowBytes,
  );
  const autoTune = options.autoTune ?? true;
  if (typeof autoTune !== 'boolean') throw new InvalidOptionError('autoTune', 'a boolean', autoTune);
  return {
    role: options.role,
    initialWindowBytes,
    maxWindowBytes,
    autoTune,
    maxStreams: whole('maxStreams', options.maxStreams ?? DEFAULT_MAX_STREAMS, 1, UINT32_MAX),
    acceptBacklog: whole('acceptBacklog', options.acceptBacklog ?? DEFAULT_ACCEPT_BACKLOG, 1, UINT32_MAX),
    maxSendFrameBytes: whole('maxSendFrameBytes', options.maxSendFrameBytes ?? DEFAULT_MAX_SEND_FRAME_BYTES, 1, UINT32_MAX),
    minSendFrameBytes: whole(
      'minSendFrameBytes',
      options.minSendFrameBytes ?? DEFAULT_MIN_SEND_FRAME_BYTES,
      1,
      INITIAL_STREAM_WINDOW_BYTES / 2,
    ),
    maxQueuedControlReplies: whole(
      'maxQueuedControlReplies',
      options.maxQueuedControlReplies ?? DEFAULT_MAX_QUEUED_CONTROL_REPLIES,
      1,
      UINT32_MAX,
    ),
    maxOutstandingPings: whole('maxOutstandingPings', options.maxOutstandingPings ?? DEFAULT_MAX_OUTSTANDING_PINGS, 1, UINT32_MAX),
    maxConsecutiveEmptyFrames: whole(
      'maxConsecutiveEmptyFrames',
      options.maxConsecutiveEmptyFrames ?? DEFAULT_MAX_CONSECUTIVE_EMPTY_FRAMES,
      0,
      UINT32_MAX,
    ),
    windowUpdatesPerDataFrame: whole(
      'windowUpdatesPerDataFrame',
      options.windowUpdatesPerDataFrame ?? DEFAULT_WINDOW_UPDATES_PER_DATA_FRAME,
      1,
      UINT32_MAX,
    ),
    resetBurst: whole('resetBurst', options.resetBurst ?? DEFAULT_RESET_BURST, 1, UINT32_MAX),
    resetsPerSecond: whole('resetsPerSecond', options.resetsPerSecond ?? DEFAULT_RESETS_PER_SECOND, 0, UINT32_MAX),
    windowBudget: options.windowBudget ?? null,
  };
}
