import { UsageError, type OptionSpec, type ParsedOptions } from '../options/parse.js';
import { loadTlsFiles, type TlsMaterial } from '../net/tls-options.js';
import { formatDuration, formatSize } from '../config/units.js';
import { INITIAL_STREAM_WINDOW_BYTES } from '../../windowing/yamux/constants.js';
import type { TunnelBudgets } from '../tunnel/defaults.js';
import type { Address } from '../net/address.js';
import type { MetricsRegistry } from '../signals/metrics.js';
import type { ConnectionsPage } from '../signals/connections-view.js';
import { TUNNEL_DEFAULTS, type TunnelSidecarOptions } from '../tunnel/defaults.js';
import { logLine } from '../sidecar/process-signals.js';
import { COMMON_OPTIONS, connectionSettings } from '../options/common.js';
import { metricsEndpoint, serveUntilSignal, sidecarRegistry, type Served } from '../sidecar/serve-until-signal.js';
import { holdYoungGeneration } from '../memory/young-generation.js';

const MIN_WINDOW = INITIAL_STREAM_WINDOW_BYTES; // a stream can never start below the yamux spec's initial window
const D = TUNNEL_DEFAULTS;

/** Flags both tunnel commands share: windows, keepalive, mutual TLS, and the relay's limits and logs. */
export const TUNNEL_OPTIONS: OptionSpec[] = [
  { name: 'window', kind: 'size', default: formatSize(D.windowBytes), min: MIN_WINDOW, max: 2 ** 32 - 1, help: 'receive window each stream starts with (the yamux initial window is the minimum); auto-tuning grows it up to --max-window' },
  { name: 'max-window', kind: 'size', default: formatSize(D.maxWindowBytes), min: MIN_WINDOW, max: 2 ** 32 - 1, help: 'largest window auto-tuning may grow a stream to' },
  { name: 'no-auto-tune', kind: 'flag', help: 'keep every stream at --window (no growth for fast consumers)' },
  { name: 'window-budget', kind: 'size', default: formatSize(D.windowBudgetBytes), min: 1, max: Number.MAX_SAFE_INTEGER, help: 'total growth beyond --window that auto-tuning may grant over all streams of this process' },
  { name: 'keepalive', kind: 'duration', default: formatDuration(D.keepaliveIntervalMs), help: 'ping each link this often; a ping unanswered that long closes the link (0 = off, else at least 100ms)' },
  { name: 'max-streams', kind: 'count', default: String(D.maxStreams), min: 1, max: 2 ** 32 - 1, help: 'live streams per link, both directions; further ones are refused (tunnel-client: a new connection waits up to --link-wait for a stream to close, then is closed)' },
  { name: 'accept-backlog', kind: 'count', default: String(D.acceptBacklog), min: 1, max: 2 ** 32 - 1, help: 'streams the peer opened that may wait for their onward connection, per link; further ones are refused' },
  { name: 'max-control-replies', kind: 'count', default: String(D.maxQueuedControlReplies), min: 1, max: 2 ** 32 - 1, help: 'replies the peer forced (ping answers, refusals) that may wait unflushed; one more closes the link' },
  { name: 'max-empty-frames', kind: 'count', default: String(D.maxConsecutiveEmptyFrames), max: 2 ** 32 - 1, help: 'frames carrying nothing the peer may send in a row; one more closes the link' },
  { name: 'window-updates-per-frame', kind: 'count', default: String(D.windowUpdatesPerDataFrame), min: 1, max: 2 ** 32 - 1, help: 'window updates accepted per data frame sent: 5 + 2 * (streams + N * frames); past it the link is closed' },
  { name: 'reset-burst', kind: 'count', default: String(D.resetBurst), min: 1, max: 2 ** 32 - 1, help: 'streams the peer may open and reset in a burst (Rapid Reset); past it and --reset-rate the link is closed' },
  { name: 'reset-rate', kind: 'count', default: String(D.resetsPerSecond), max: 2 ** 32 - 1, help: 'resets per second the burst refills at' },
  { name: 'tls-cert', kind: 'string', help: 'PEM certificate this side presents (mutual TLS; with --tls-key and --tls-ca)' },
  { name: 'tls-key', kind: 'string', help: 'PEM private key of --tls-cert' },
  { name: 'tls-ca', kind: 'string', help: 'PEM CA certificate: the peer must present a certificate it signed' },
  ...COMMON_OPTIONS.filter((o) => o.name !== 'window'),
];

/** The flood budgets from parsed flags, as TunnelServer and TunnelClient take them. */
export function budgetSettings(o: ParsedOptions): TunnelBudgets {
  return {
    acceptBacklog: o['accept-backlog'] as number,
    maxQueuedControlReplies: o['max-control-replies'] as number,
    maxConsecutiveEmptyFrames: o['max-empty-frames'] as number,
    windowUpdatesPerDataFrame: o['window-updates-per-frame'] as number,
    resetBurst: o['reset-burst'] as number,
    resetsPerSecond: o['reset-rate'] as number,
  };
}

/** Window settings from parsed flags; throws UsageError when --window exceeds --max-window. */
export function windowSettings(o: ParsedOptions): { windowBytes: number; maxWindowBytes: number; autoTune: boolean; windowBudgetBytes: number } {
  const windowBytes = o.window as number;
  const maxWindowBytes = o['max-window'] as number;
  if (windowBytes > maxWindowBytes) {
    throw new UsageError(`--window: must be at most --max-window (${formatSize(maxWindowBytes)}), got ${formatSize(windowBytes)}`);
  }
  return { windowBytes, maxWindowBytes, autoTune: o['no-auto-tune'] !== true, windowBudgetBytes: o['window-budget'] as number };
}

/** The TLS files from parsed flags, read; null without TLS flags. Throws UsageError naming the flag at fault. */
export function tlsMaterial(o: ParsedOptions): TlsMaterial | null {
  const names = ['tls-cert', 'tls-key', 'tls-ca'] as const;
  const given = names.filter((n) => o[n] !== undefined);
  if (given.length === 0) return null;
  const missing = names.filter((n) => o[n] === undefined);
  if (missing.length > 0) throw new UsageError(`--${missing[0]} is required with ${given.map((n) => `--${n}`).join(' and ')} (mutual TLS needs --tls-cert, --tls-key and --tls-ca)`);
  try {
    return loadTlsFiles({ certPath: o['tls-cert'] as string, keyPath: o['tls-key'] as string, caPath: o['tls-ca'] as string });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * Below this a keepalive closes healthy links: a ping's answer waits behind the link's queued data
 * and the peer's event loop (found from outside: 1 ms never brought a link up, 20 ms flapped under
 * load, 100 ms held).
 */
export const MIN_KEEPALIVE_MS = 100;

function keepaliveMs(ms: number): number {
  if (ms !== 0 && ms < MIN_KEEPALIVE_MS) throw new UsageError(`--keepalive: 0 (off) or at least ${formatDuration(MIN_KEEPALIVE_MS)}, got ${formatDuration(ms)}`);
  return ms;
}

/** Everything both tunnel commands pass their sidecar from flags (throws UsageError like windowSettings). */
export function tunnelSettings(o: ParsedOptions): TunnelSidecarOptions {
  return {
    ...windowSettings(o),
    ...budgetSettings(o),
    ...connectionSettings(o),
    maxStreams: o['max-streams'] as number,
    keepaliveIntervalMs: keepaliveMs(o.keepalive as number),
    onLinkLog: (line) => logLine(line),
    onNotice: (text) => logLine(text),
  };
}

/** Serves a tunnel sidecar with its --metrics until a signal; resolves with the exit code. */
export function serveTunnelSidecar(
  name: string,
  sidecar: Served & { registerMetrics(registry: MetricsRegistry): void; connections(limit: number): ConnectionsPage },
  o: ParsedOptions,
  drainNotice: string,
): Promise<number> {
  // A burst of streams would otherwise leave the young generation at its 16 MiB maximum for good.
  holdYoungGeneration();
  const registry = sidecarRegistry(sidecar);
  return serveUntilSignal({
    name,
    sidecar,
    endpoints: o.metrics ? [metricsEndpoint(o.metrics as Address, registry, undefined, { connections: (limit) => sidecar.connections(limit) })] : [],
    drainTimeoutMs: o['drain-timeout'] as number,
    drainNotice,
  });
}
