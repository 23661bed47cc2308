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
    // Keys whose value is undefined (proxy outside serve, error) are left out by JSON.stringify.
    return JSON.stringify({
      time,
      proxy: entry.proxy,
      conn: entry.id,
      client: entry.client,
      target: entry.target,
      bytes_up: entry.bytesUp,
      bytes_down: entry.bytesDown,
      duration_ms: ms(entry.durationMs),
      end: entry.end,
      held_up_ms: ms(entry.heldBackUpMs),
      held_down_ms: ms(entry.heldBackDownMs),
      error: entry.error,
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

// The batched stderr writer lives here, not in files of its own: every module `sluice relay`
// loads at start holds a descriptor while Node reads the module graph in parallel, and under
// `ulimit -n 64` (test/proxy/cli/fd-limit.test.ts) a few more files are enough to fail to start.

/**
 * Lines gathered into one write: under connection churn a write per access-log line (a system
 * call each, stderr being synchronous on Linux) costs more than the formatting. Lines are kept in
 * order and written together once the batch holds `maxBytes`, `delayMs` after its first line, or
 * when flush() is called (on exit). Nothing is dropped: a line is pending or written.
 */
export interface LineBatchOptions {
  /** Where a batch goes: one call per batch, lines joined, each ending in a newline. */
  write: (text: string) => void;
  /** A batch this large (UTF-16 code units, about bytes for log lines) is written at once. Default 16 KiB. */
  maxBytes?: number;
  /** The longest a line waits for company. Default 20 ms. */
  delayMs?: number;
}

/** Default largest batch. */
export const LINE_BATCH_MAX_BYTES = 16 * 1024;
/** Default longest wait of a line. */
export const LINE_BATCH_DELAY_MS = 20;

/** Lines written in batches; see the module comment. */
export class LineBatch {
  private pending = '';
  private timer: NodeJS.Timeout | null = null;
  private readonly maxBytes: number;
  private readonly delayMs: number;

  constructor(private readonly options: LineBatchOptions) {
    this.maxBytes = options.maxBytes ?? LINE_BATCH_MAX_BYTES;
    this.delayMs = options.delayMs ?? LINE_BATCH_DELAY_MS;
  }

  /** Adds one line (without its newline). */
  push(line: string): void {
    this.pending += line + '\n';
    if (this.pending.length >= this.maxBytes) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(this.flush, this.delayMs);
      // A pending line never keeps the process alive: exit flushes it.
      this.timer.unref();
    }
  }

  /** Writes what is pending now. */
  readonly flush = (): void => {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.options.write(text);
  };

  /** Characters waiting to be written. */
  get pendingBytes(): number {
    return this.pending.length;
  }
}

let batch: LineBatch | null = null;
let stderrWatched = false;

/**
 * Writes to stderr, unless stderr has failed. A proxy whose log reader went away (a pipe to a
 * logger that restarted: EPIPE) keeps relaying: without a listener the stream's 'error' would be
 * an uncaught exception, taking every connection of the process down with the log.
 */
export function writeStderr(text: string): void {
  const stderr = process.stderr;
  if (!stderrWatched) {
    stderrWatched = true;
    stderr.on('error', ignoreStdioError);
  }
  if (stderr.destroyed || stderr.writableEnded) return;
  stderr.write(text);
}

function ignoreStdioError(): void {}

/**
 * The process's access log on stderr, batched (LineBatch above). One batch per process, shared by
 * every sidecar and proxy in it, written out on exit (a signal's drain ends in an exit, and so
 * does a second signal's process.exit), so no line is lost to the batching.
 */
export function stderrAccessLog(format: LogFormat): (entry: AccessLogEntry) => void {
  if (batch === null) {
    const created = new LineBatch({ write: writeStderr });
    process.once('exit', created.flush);
    batch = created;
  }
  const lines = batch;
  return (entry) => lines.push(formatAccessLog(entry, format));
}

/** Writes the access-log lines still pending, so a line written next comes after them. */
export function flushStderrAccessLog(): void {
  batch?.flush();
}
