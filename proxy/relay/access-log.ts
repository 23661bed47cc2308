import type { RelayEnd } from './relay.js';

/** One finished connection, as the access log records it. */
export interface AccessLogEntry {
  /** The proxy the connection came through, under `sluice serve`. */
  proxy?: string;
  id: number;
  client: string;
  target: string;
  /** Bytes client -> target and target -> client. */
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
  end: RelayEnd | ConnectionRefusal;
  /** Time the client (up) and target (down) were paused by backpressure. */
  heldBackUpMs: number;
  heldBackDownMs: number;
  error?: string;
}

/** Ways a connection ends before any byte is relayed. */
export type ConnectionRefusal =
  | 'queue-full'
  | 'queue-timeout'
  | 'connect-failed'
  | 'connect-timeout'
  | 'shutdown'
  | 'overloaded'
  | 'proxy-header-invalid' // --accept-proxy: no header, or a malformed one
  | 'proxy-header-timeout' // the whole header did not arrive within --proxy-header-timeout
  | 'proxy-header-untrusted'; // a source outside --accept-proxy-from

/** Access log formats: one line of `key=value` text, or one JSON object per line. */
export type LogFormat = 'text' | 'json';

// Connections finishing in the same millisecond share one timestamp text.
let isoMs = NaN;
let isoText = '';
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** Formats one access-log line (without the newline); `at` defaults to now. */
export function formatAccessLog(entry: AccessLogEntry, format: LogFormat, at?: Date): string {
  const ms = (n: number) => Math.round(n);
  const time = at ? at.toISOString() : isoNow();
  if (format === 'json') {
    return JSON.stringify({
      time,
      ...(entry.proxy !== undefined ? { proxy: entry.proxy } : {}),
      conn: entry.id,
      client: entry.client,
      target: entry.target,
      bytes_up: entry.bytesUp,
      bytes_down: entry.bytesDown,
      duration_ms: ms(entry.durationMs),
      end: entry.end,
      held_up_ms: ms(entry.heldBackUpMs),
      held_down_ms: ms(entry.heldBackDownMs),
      ...(entry.error !== undefined ? { error: entry.error } : {}),
    });
  }
  return (
    time +
    (entry.proxy !== undefined ? ` proxy=${entry.proxy}` : '') +
    ` conn=${entry.id} client=${entry.client} target=${entry.target} up=${entry.bytesUp} down=${entry.bytesDown}` +
    ` duration=${ms(entry.durationMs)}ms end=${entry.end} held_up=${ms(entry.heldBackUpMs)}ms held_down=${ms(entry.heldBackDownMs)}ms` +
    (entry.error !== undefined ? ` error=${entry.error}` : '')
  );
}
