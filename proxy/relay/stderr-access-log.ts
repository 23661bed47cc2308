import { formatAccessLog, type AccessLogEntry, type LogFormat } from './access-log.js';
import { LineBatch } from './line-batch.js';

let batch: LineBatch | null = null;

/**
 * The process's access log on stderr, batched (line-batch.ts). One batch per process, shared by
 * every sidecar and proxy in it, written out on exit (a signal's drain ends in an exit, and so
 * does a second signal's process.exit), so no line is lost to the batching.
 */
export function stderrAccessLog(format: LogFormat): (entry: AccessLogEntry) => void {
  if (batch === null) {
    const created = new LineBatch({ write: (text) => void process.stderr.write(text) });
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
