/**
 * Public face of sluice as a library: the relay for any two connected duplex streams and the
 * stages a direction is built from, the three sidecars (relay server, tunnel client and server),
 * the tunnel session for your own multiplexed protocols, and the pieces around them (addresses,
 * sizes, metrics, signals). Of the readers, only what a relay of your own needs comes out: the
 * `SourceReader` interface (a Relay's `clientReader`/`targetReader`) and the `ReadTarget` it
 * delivers to, and `CreditReader`, which reads a `credit: 'manual'` tunnel stream; the rest of the
 * plumbing (pooled socket reads, buffer pools, socket adoption) stays inside.
 * The pure flow-control decisions and the yamux codec are `sluice/windowing`.
 */
export { relay, Relay, DEFAULT_WINDOW_BYTES, WheelTimers, wheelTickMs, type TimedEntry, type RelayOptions, type RelayResult, type RelayEnd, type DirectionStats, type MessageCounts } from './relay/relay.js';
export { OptionTypeError, OptionRangeError } from './relay/option-checks.js';
export { RelayServer, type RelayServerOptions } from './relay/relay-server.js';
export { ConnectionIds } from './relay/connection-table.js';
export { CONNECTION_DEFAULTS, RELAY_DEFAULTS } from './relay/defaults.js';
export { TUNNEL_DEFAULTS } from './tunnel/defaults.js';
export type { SidecarConnectionOptions } from './relay/connection-table.js';
export { formatAccessLog, type AccessLogEntry, type LogFormat } from './relay/access-log.js';
export { Direction, type DirectionOptions, type Stage, type StageContext, type Downstream, type Holdable, type HoldReason, type Lender, type SourceReader, type ReadTarget } from './pipeline/index.js';
export { MessageStage, RateStage, type MessageModeOptions, type MessageStageEvents, type RateStageOptions } from './stages/index.js';
export { parseToxicSpec, updateToxicSpec, toxicObjectFromFlag, toxicStage, TOXIC_TYPES, TOXIC_SCHEMAS, LATENCY_BUDGET_BYTES, ToxicSpecError, type ToxicSpec, type ToxicStream, type ToxicEnvironment } from './stages/toxics/index.js';
export { parseAddress, formatAddress, type Address } from './net/address.js';
export { loadTlsFiles, serverTlsOptions, clientTlsOptions, type TlsFiles, type TlsMaterial } from './net/tls-options.js';
export { parseSize, parseDuration, formatSize, formatDuration } from './config/units.js';
export { MetricsRegistry, type MetricFamily, type Sample } from './signals/metrics.js';
export { startHttpEndpoints, type HealthStatus, type HttpEndpoints, type HttpEndpointsOptions } from './signals/http-endpoints.js';
export type { ConnectionPhase, ConnectionsPage, ConnectionsSource, ConnectionView, DirectionView, MessagesView, StreamView } from './signals/connections-view.js';
export { startAgentCheck, formatAgentReply, MAX_AGENT_REPLY_BYTES, type AgentCheckResponder, type AgentCheckOptions } from './signals/agent-check.js';
export { createManagementServer, readBody, BodyTooLargeError, MANAGEMENT_DEFAULTS, type ManagementServer, type ManagementServerOptions } from './signals/management-server.js';
export { FdReserve, type FdReserveOptions } from './net/fd-reserve.js';
export { AcceptErrorCounts, ACCEPT_ERROR_REASONS, type AcceptErrorReason, type ListenerAccounting } from './net/accept-guard.js';
export { Governor, type GovernorOptions, type GovernedInstance } from './signals/governor.js';
export { EventLoopMonitor, type EventLoopDelay, type EventLoopMonitorOptions, type DelayHistogram } from './signals/event-loop-monitor.js';
export { SpillStore, SpillSpool, SpillDirError, type SpillStoreOptions } from './spill/index.js';
export { TunnelSession, TUNNEL_SESSION_DEFAULTS, type TunnelSessionOptions, type TunnelSessionStats } from './tunnel/session.js';
export { TunnelStream, type CreditMode, type TunnelStreamOptions } from './tunnel/stream.js';
export { StreamResetError, LinkLostError, KeepaliveTimeoutError, HandshakeTimeoutError, TunnelProtocolError, RemoteGoAwayError, StreamOpenError } from './tunnel/errors.js';
export { TunnelServer, type TunnelServerOptions } from './tunnel/server.js';
export { TunnelClient, TUNNEL_CLIENT_DEFAULTS, type TunnelClientOptions } from './tunnel/client.js';
export { CreditReader } from './tunnel/credit-reader.js';
