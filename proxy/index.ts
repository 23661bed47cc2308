/**
 * Public face of sluice as a library: the relay for any two connected duplex streams, the
 * relay server the CLI runs, and the pieces around them (addresses, sizes, metrics).
 */
export { relay, Relay, DEFAULT_WINDOW_BYTES, type RelayOptions, type RelayResult, type RelayEnd, type DirectionStats } from './relay/relay.js';
export { Pump } from './relay/pump.js';
export { RelayServer, RELAY_DEFAULTS, type RelayServerOptions } from './relay/relay-server.js';
export { parseAddress, formatAddress, type Address } from './net/address.js';
export { parseSize, parseDuration, formatSize, formatDuration } from './config/units.js';
export { MetricsRegistry, type MetricFamily, type Sample } from './signals/metrics.js';
export { startHttpEndpoints, type HealthStatus, type HttpEndpoints } from './signals/http-endpoints.js';
export { formatAccessLog, type AccessLogEntry, type LogFormat } from './relay/access-log.js';
export { MessagePump, type MessageModeOptions } from './relay/message-pump.js';
export {
  SpillStore,
  SpillSpool,
  SpillDirError,
  SPILL_RECORD_HEADER_BYTES,
  DEFAULT_SEGMENT_BYTES,
  DEFAULT_WRITE_BATCH_BYTES,
  DEFAULT_READ_BATCH_BYTES,
  type SpillAppend,
  type SpillStoreOptions,
  type SegmentFile,
} from './spill/spill-store.js';
export { Governor, type GovernorOptions, type GovernedInstance } from './signals/governor.js';
export { EventLoopMonitor, type EventLoopDelay, type EventLoopMonitorOptions, type DelayHistogram } from './signals/event-loop-monitor.js';
export { startAgentCheck, formatAgentReply, MAX_AGENT_REPLY_BYTES, type AgentCheckResponder, type AgentCheckOptions } from './signals/agent-check.js';
export { RateLimiter, type RateLimiterOptions } from './relay/rate-limiter.js';
export { FastPump } from './relay/fast-pump.js';
export { ReadHook } from './reads/read-hook.js';
export { adoptWithReadHook } from './reads/adopt-socket.js';
export { type DirectionPump } from './relay/pump.js';
export type { MessageCounts } from './relay/relay.js';
export { TunnelSession, TunnelSession as Session, TUNNEL_SESSION_DEFAULTS, type TunnelSessionOptions, type TunnelSessionOptions as SessionOptions, type TunnelSessionStats } from './tunnel/session.js';
export { TunnelStream, type CreditMode, type TunnelStreamOptions } from './tunnel/stream.js';
export { StreamResetError, LinkLostError, KeepaliveTimeoutError, HandshakeTimeoutError, TunnelProtocolError, RemoteGoAwayError, StreamOpenError } from './tunnel/errors.js';
export { TunnelServer, type TunnelServerOptions } from './tunnel/server.js';
export { TunnelClient, TUNNEL_CLIENT_DEFAULTS, type TunnelClientOptions } from './tunnel/client.js';
export { LinkPool, type LinkPoolOptions, type LinkSessionOptions } from './tunnel/link-pool.js';
export { CreditPump } from './tunnel/credit-pump.js';
export { loadTlsFiles, serverTlsOptions, clientTlsOptions, type TlsFiles, type TlsMaterial } from './net/tls-options.js';
