/**
 * Public face of sluice as a library: the relay for any two connected duplex streams, the
 * relay server the CLI runs, and the pieces around them (addresses, sizes, metrics).
 */
export { relay, Relay, DEFAULT_WINDOW_BYTES, type RelayOptions, type RelayResult, type RelayEnd, type DirectionStats } from './relay.js';
export { Pump } from './pump.js';
export { RelayServer, RELAY_DEFAULTS, type RelayServerOptions } from './relay-server.js';
export { parseAddress, formatAddress, type Address } from './address.js';
export { parseSize, parseDuration, formatSize, formatDuration } from './units.js';
export { MetricsRegistry, type MetricFamily, type Sample } from './metrics.js';
export { startHttpEndpoints, type HealthStatus, type HttpEndpoints } from './http-endpoints.js';
export { formatAccessLog, type AccessLogEntry, type LogFormat } from './access-log.js';
export { TunnelSession, TunnelSession as Session, TUNNEL_SESSION_DEFAULTS, type TunnelSessionOptions, type TunnelSessionOptions as SessionOptions, type TunnelSessionStats } from './tunnel-session.js';
export { TunnelStream, type CreditMode, type TunnelStreamOptions } from './tunnel-stream.js';
export { StreamResetError, LinkLostError, KeepaliveTimeoutError, TunnelProtocolError, RemoteGoAwayError, StreamOpenError } from './tunnel-errors.js';
export { TunnelServer, type TunnelServerOptions } from './tunnel-server.js';
export { TunnelClient, TUNNEL_CLIENT_DEFAULTS, type TunnelClientOptions } from './tunnel-client.js';
export { LinkPool, type LinkPoolOptions, type LinkSessionOptions } from './link-pool.js';
export { CreditPump } from './credit-pump.js';
export { loadTlsFiles, serverTlsOptions, clientTlsOptions, type TlsFiles, type TlsMaterial } from './tls-options.js';
