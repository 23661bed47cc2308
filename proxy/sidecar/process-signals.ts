import { flushStderrAccessLog } from '../relay/access-log.js';

/** What a sidecar process says on stderr and how it hears a request to stop. */

/** Writes one log line to stderr (stdout carries only the ready line and command output), after the access-log lines before it. */
export function logLine(text: string): void {
  flushStderrAccessLog();
  process.stderr.write(`sluice: ${text}\n`);
}

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
