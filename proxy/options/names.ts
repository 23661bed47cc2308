/**
 * Which library option each command-line flag sets: the one place that maps the two, for the CLI
 * and for `sluice serve`'s config file (whose keys are the flag names without the dashes). A flag
 * means the same option on every command that has it (`--window` is `windowBytes` on all three).
 *
 * The rule: the flag in camelCase, sizes get `Bytes`, durations `Ms` (`max-conns` -> maxConns,
 * `idle-timeout` -> idleTimeoutMs, `window` -> windowBytes, `spill-max` -> spillMaxBytes).
 * OPTION_NAME_EXCEPTIONS lists the flags the rule does not name, HOSTING_FLAGS those that set no
 * option of a sidecar. test/proxy/cli/option-defaults.test.ts checks both against what the
 * commands really pass, and each flag's default against the library's.
 */

/** Flags whose option name the rule does not give: shorter on the command line, exact in code. */
export const OPTION_NAME_EXCEPTIONS: Readonly<Record<string, string>> = {
  rate: 'rateBytesPerS', // a size per second
  keepalive: 'keepaliveIntervalMs',
  'no-auto-tune': 'autoTune', // negated: the flag turns it off
  'max-control-replies': 'maxQueuedControlReplies',
  'max-empty-frames': 'maxConsecutiveEmptyFrames',
  'window-updates-per-frame': 'windowUpdatesPerDataFrame',
  'reset-rate': 'resetsPerSecond',
  toxic: 'toxics', // repeatable: each one toxic
  'producer-rate': 'producerPerS', // demo
  'consumer-rate': 'consumerPerS', // demo
};

/** Flags that negate the option they set. */
export const NEGATED_FLAGS: ReadonlySet<string> = new Set(['no-auto-tune']);

/**
 * Flags the process hosting a sidecar uses itself, setting no option of it: endpoints, logs,
 * workers, TLS files (read into the `tls` option), the plain-links guard, the demo's output.
 */
export const HOSTING_FLAGS: ReadonlySet<string> = new Set([
  'metrics',
  'agent',
  'log',
  'quiet',
  'workers',
  'tls-cert',
  'tls-key',
  'tls-ca',
  'tls-servername',
  'insecure',
  'out',
]);

/** The library option `flag` sets (null for a hosting flag); `unit` is the flag's kind when it is a size or duration. */
export function optionName(flag: string, unit?: string): string | null {
  if (HOSTING_FLAGS.has(flag)) return null;
  const exception = OPTION_NAME_EXCEPTIONS[flag];
  if (exception !== undefined) return exception;
  const camel = flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  return camel + (unit === 'size' ? 'Bytes' : unit === 'duration' ? 'Ms' : '');
}
