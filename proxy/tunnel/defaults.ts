import { DEFAULT_ACCEPT_BACKLOG, DEFAULT_MAX_CONSECUTIVE_EMPTY_FRAMES, DEFAULT_MAX_QUEUED_CONTROL_REPLIES, DEFAULT_MAX_STREAM_WINDOW_BYTES, DEFAULT_MAX_STREAMS, DEFAULT_RESET_BURST, DEFAULT_RESETS_PER_SECOND, DEFAULT_WINDOW_UPDATES_PER_DATA_FRAME, INITIAL_STREAM_WINDOW_BYTES, UINT32_MAX } from '../../windowing/yamux/constants.js';
import { InvalidOptionError } from '../../windowing/yamux/errors.js';
import { resolveSessionOptions, type SessionOptions } from '../../windowing/yamux/limits.js';
import type { SidecarConnectionOptions } from '../relay/connection-table.js';
import { CONNECTION_CHECKS, CONNECTION_DEFAULTS } from '../relay/defaults.js';
import { checkOptions, durationMs, func, OptionRangeError, OptionTypeError, whole, type Check, type Checks } from '../relay/option-checks.js';
import { TUNNEL_SESSION_DEFAULTS } from './session.js';

/**
 * Defaults of the tunnel sidecars: the connection defaults every sidecar shares, the session's
 * (windowing/yamux/constants.ts says where each comes from) and the two below, each with its reason.
 * Frozen, like CONNECTION_DEFAULTS.
 */
export const TUNNEL_DEFAULTS = Object.freeze({
  ...CONNECTION_DEFAULTS,
  /** Receive window each stream starts with: the yamux initial window, also the least a stream may have. */
  windowBytes: INITIAL_STREAM_WINDOW_BYTES,
  maxWindowBytes: DEFAULT_MAX_STREAM_WINDOW_BYTES,
  autoTune: true,
  /**
   * Total growth beyond the initial window that auto-tuning may grant, over every stream of the
   * process. A consumer whose kernel buffers swallow megabytes fast and then stall looks fast to
   * the tuning rule; without a budget every such window could grow to the 16 MiB maximum and pin
   * that much memory at once. 8 MiB lets one stream fill 160 MB/s at 50 ms of round trip.
   */
  windowBudgetBytes: 8 * 1024 * 1024,
  keepaliveIntervalMs: TUNNEL_SESSION_DEFAULTS.keepaliveIntervalMs,
  errorLingerMs: TUNNEL_SESSION_DEFAULTS.errorLingerMs,
  maxStreams: DEFAULT_MAX_STREAMS,
  acceptBacklog: DEFAULT_ACCEPT_BACKLOG,
  maxQueuedControlReplies: DEFAULT_MAX_QUEUED_CONTROL_REPLIES,
  maxConsecutiveEmptyFrames: DEFAULT_MAX_CONSECUTIVE_EMPTY_FRAMES,
  windowUpdatesPerDataFrame: DEFAULT_WINDOW_UPDATES_PER_DATA_FRAME,
  resetBurst: DEFAULT_RESET_BURST,
  resetsPerSecond: DEFAULT_RESETS_PER_SECOND,
  /**
   * tunnel-server: how long a new link has to complete its TLS handshake and answer the first
   * ping. Like the connect timeout (HAProxy: just above a multiple of the 3 s SYN retransmit), so a
   * peer that connects and says nothing holds a socket for seconds, not until the keepalive.
   */
  handshakeTimeoutMs: 5_000,
} as const);

/**
 * The flood budgets of a link's session (HARDENING rows 3 and 5-8), as the sidecars take them;
 * each defaults to the windowing default (see windowing/yamux/constants.ts for where each comes from).
 */
export type TunnelBudgets = Pick<
  SessionOptions,
  'acceptBacklog' | 'maxQueuedControlReplies' | 'maxConsecutiveEmptyFrames' | 'windowUpdatesPerDataFrame' | 'resetBurst' | 'resetsPerSecond'
>;

const BUDGET_KEYS = ['acceptBacklog', 'maxQueuedControlReplies', 'maxConsecutiveEmptyFrames', 'windowUpdatesPerDataFrame', 'resetBurst', 'resetsPerSecond'] as const;

/** The budgets set in `options`, and only those (absent ones keep the session's defaults). */
export function pickBudgets(options: TunnelBudgets): TunnelBudgets {
  const picked: TunnelBudgets = {};
  for (const key of BUDGET_KEYS) if (options[key] !== undefined) picked[key] = options[key];
  return picked;
}

/** What both tunnel sidecars take besides their own addresses and TLS; the CLI fills it from flags. */
export interface TunnelSidecarOptions extends SidecarConnectionOptions, TunnelBudgets {
  /** Receive window each stream starts with (at least 256 KiB). */
  windowBytes?: number;
  /** Ceiling for auto-tuned windows. */
  maxWindowBytes?: number;
  autoTune?: boolean;
  /** Live streams allowed per link. */
  maxStreams?: number;
  /** Total window growth (beyond --window) auto-tuning may grant over all links; default 8 MiB. */
  windowBudgetBytes?: number;
  keepaliveIntervalMs?: number;
  /** How long a link ended by a protocol error or flood may take to flush its go away; default 500 ms. */
  errorLingerMs?: number;
  /** One line about a link (opened, closed and why, refused handshakes). */
  onLinkLog?: (line: string) => void;
}

/**
 * An option the sidecar hands to each link's session, checked by the session's own rule
 * (windowing/yamux/limits.ts, the one place its bounds live) when the sidecar is made, not when
 * the first link comes up, and named as the caller spelled it.
 */
function sessionRule(key: Exclude<keyof SessionOptions, 'role'>): Check {
  return (name, value) => {
    try {
      resolveSessionOptions({ role: 'dialer', [key]: value });
    } catch (err) {
      if (!(err instanceof InvalidOptionError)) throw err;
      const wrongType = typeof value !== (key === 'autoTune' ? 'boolean' : 'number');
      throw wrongType ? new OptionTypeError(name, err.bound, value) : new OptionRangeError(name, err.bound, value);
    }
  };
}

const TUNNEL_CHECKS: Checks<TunnelSidecarOptions> = {
  ...CONNECTION_CHECKS,
  windowBytes: whole(INITIAL_STREAM_WINDOW_BYTES, UINT32_MAX), // and at most maxWindowBytes: checkTunnelOptions
  maxWindowBytes: sessionRule('maxWindowBytes'),
  autoTune: sessionRule('autoTune'),
  maxStreams: sessionRule('maxStreams'),
  windowBudgetBytes: whole(1),
  keepaliveIntervalMs: durationMs(0),
  errorLingerMs: durationMs(0),
  onLinkLog: func,
  acceptBacklog: sessionRule('acceptBacklog'),
  maxQueuedControlReplies: sessionRule('maxQueuedControlReplies'),
  maxConsecutiveEmptyFrames: sessionRule('maxConsecutiveEmptyFrames'),
  windowUpdatesPerDataFrame: sessionRule('windowUpdatesPerDataFrame'),
  resetBurst: sessionRule('resetBurst'),
  resetsPerSecond: sessionRule('resetsPerSecond'),
};

/**
 * Checks what both tunnel sidecars take, plus each one's own options (`own`, `required` among them), in its constructor:
 * the sessions they configure are made per link, where a bad value would fail every link.
 */
export function checkTunnelOptions<T extends TunnelSidecarOptions>(
  options: T,
  own: Checks<Omit<T, keyof TunnelSidecarOptions>>,
  required: readonly (keyof Omit<T, keyof TunnelSidecarOptions> & string)[],
): void {
  checkOptions(options, TUNNEL_CHECKS);
  checkOptions(options as Omit<T, keyof TunnelSidecarOptions>, own, required);
  const maxWindowBytes = options.maxWindowBytes ?? TUNNEL_DEFAULTS.maxWindowBytes;
  if (options.windowBytes !== undefined && options.windowBytes > maxWindowBytes) {
    throw new OptionRangeError('windowBytes', `at most maxWindowBytes (${maxWindowBytes})`, options.windowBytes);
  }
}
