import { flushStderrAccessLog, writeStderr } from '../relay/access-log.js';

/** What a sidecar process says on stderr and how it hears a request to stop. */

/** Writes one log line to stderr (stdout carries only the ready line and command output), after the access-log lines before it. */
export function logLine(text: string): void {
  flushStderrAccessLog();
  writeStderr(`sluice: ${text}\n`);
}

/**
 * Writes the ready line (`sluice <command> listening on HOST:PORT`) to stdout. Scripts often read
 * it and close the pipe (`| head -1`): a failed stdout must not become an uncaught exception.
 */
export function readyLine(text: string): void {
  process.stdout.on('error', ignoreStdoutError);
  if (!process.stdout.destroyed) process.stdout.write(`${text}\n`);
}

function ignoreStdoutError(): void {}

/**
 * Resolves on the first SIGTERM or SIGINT; a second one exits at once, for people who mean it.
 * Returns a function that removes the handlers.
 */
export function onShutdownSignal(handler: (signal: NodeJS.Signals) => void): () => void {
  let seen = false;
  const listener = (signal: NodeJS.Signals) => {
    if (seen) process.exit(1);
    seen = true;
    handler(signal);
  };
  process.on('SIGTERM', listener);
  process.on('SIGINT', listener);
  return () => {
    process.off('SIGTERM', listener);
    process.off('SIGINT', listener);
  };
}
