import { DEFAULT_MAX_MESSAGE_BYTES } from '../../windowing/message-framer.js';
import { DEFAULT_MEMORY_BUDGET_BYTES } from '../../windowing/memory-budget.js';
import { DEFAULT_SHED_AT } from '../../windowing/pressure.js';
import { DEFAULT_SPILL_DIR, DEFAULT_SPILL_MAX_BYTES } from '../spill/defaults.js';
import { DEFAULT_WINDOW_BYTES } from './relay.js';
import type { SidecarConnectionOptions } from './connection-table.js';
import { bool, durationMs, func, object, oneOf, text, whole, type Checks } from './option-checks.js';

/**
 * What a sidecar uses for each option left out (reasons in DESIGN.md's and README's tables). The
 * CLI's --help shows these same values: test/proxy/cli/option-defaults.test.ts fails when a flag's
 * default and the library's differ, or README's tables and these.
 */

/**
 * Defaults every sidecar shares (relay, tunnel-client, tunnel-server): limits, timeouts, window.
 * Frozen, as every exported defaults object is: they are read by every sidecar made later, so an
 * assignment (a test tweaking "the defaults") would change them all.
 */
export const CONNECTION_DEFAULTS = Object.freeze({
  /** Relay window per direction (for the tunnels: of the plain side, read by an ordinary pump). */
  windowBytes: DEFAULT_WINDOW_BYTES,
  connectTimeoutMs: 5_000, // HAProxy: just above a multiple of the 3 s SYN retransmit
  idleTimeoutMs: 3_600_000, // Envoy tcp_proxy: 1 h
  halfCloseTimeoutMs: 300_000, // yamux: 5 min for a half-closed stream to finish
  maxConns: 0, // no limit
  maxQueue: 1024, // bounded so a flood cannot pile sockets up in memory
  queueTimeoutMs: 5_000,
  drainTimeoutMs: 30_000,
  readPath: 'onread' as 'onread' | 'stream', // reused read buffers; 'stream' is Node's ordinary path
  acceptProxy: false, // a PROXY header is read only when configured, never guessed from the bytes
  proxyHeaderTimeoutMs: 3_000, // HAProxy and nginx wait a few seconds; a slowloris gets no more
} as const);

/** Defaults of the relay: the shared ones and those only the relay has. */
export const RELAY_DEFAULTS = Object.freeze({
  ...CONNECTION_DEFAULTS,
  connectRetryMs: 2_000, // a restart's worth; a dead target still closes its clients within ~2 s
  memoryBudgetBytes: DEFAULT_MEMORY_BUDGET_BYTES,
  shedAt: DEFAULT_SHED_AT,
  adaptiveConcurrency: false,
  rateBytesPerS: 0, // unlimited
  overflow: 'block', // nothing lost: the producer is held back
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  spillDir: DEFAULT_SPILL_DIR,
  spillMaxBytes: DEFAULT_SPILL_MAX_BYTES,
} as const);

/**
 * What every sidecar accepts for the shared options (option-checks.ts), with the bounds the CLI's
 * flags have: the timeouts a client waits under are at least 1 ms (0 would refuse every client
 * at once), those that 0 turns off may be 0.
 */
export const CONNECTION_CHECKS: Checks<SidecarConnectionOptions> = {
  connectTimeoutMs: durationMs(1),
  idleTimeoutMs: durationMs(0),
  halfCloseTimeoutMs: durationMs(0),
  maxConns: whole(0),
  maxQueue: whole(0),
  queueTimeoutMs: durationMs(1),
  onAccessLog: func,
  now: func,
  readPath: oneOf(['onread', 'stream']),
  acceptProxy: bool,
  acceptProxyFrom: text, // parsed by proxyProtocolFrom, which names it too
  proxyHeaderTimeoutMs: durationMs(1),
  sendProxy: oneOf(['v1', 'v2']),
  onNotice: func,
  fdReserve: object,
  acceptErrors: object,
};
