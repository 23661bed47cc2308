/** What a scenario reports: one line per check, measured figures, the threshold, a verdict. */
import type { Scope } from '../../scenarios/harness/scope.js';

export type Status = 'PASS' | 'FAIL' | 'SKIPPED';

/** A measured figure: numbers are summarised (min/max) over repeated runs, the rest printed as is. */
export type Figure = number | string | boolean;

/** One printed line: `name  STATUS  figures  | threshold`. */
export interface CheckLine {
  /** `scenario/check`, e.g. `relay/slow-consumer`. */
  name: string;
  status: Status;
  /** What was measured, in the order printed; units in the key (`growthMB`, `closedAfterMs`). */
  figures: Record<string, Figure>;
  /** The threshold, in words and numbers, as printed. */
  threshold: string;
  /** Why it failed or was skipped (empty on PASS). */
  reasons: string[];
}

/** What every scenario gets from the runner. */
export interface CheckContext {
  /** argv prefix that runs the CLI, e.g. [node, dist/proxy/cli.js]. */
  sluice: string[];
  /** Every process, server, socket and temp dir of the scenario; closed by the runner afterwards. */
  scope: Scope;
  /** Adds a finished line (printed at once). */
  report(line: CheckLine): void;
  /** Progress on stderr. */
  log(message: string): void;
  /**
   * Runs one check in a scope of its own (closed before it returns); if it throws before
   * reporting `name`, reports `name` as FAIL with the error, so the next check still runs.
   */
  attempt(name: string, fn: (scope: Scope) => Promise<void>): Promise<void>;
}

/** One file per scenario, one scenario per issue. */
export interface Scenario {
  /** Short name used by `--only` and as the prefix of its lines. */
  name: string;
  /** Where the text comes from, e.g. "issue 2". */
  issue: string;
  /** The names of the lines it reports, in order, for `--list` and for marking lines a crash left unreported. */
  lines: string[];
  run(ctx: CheckContext): Promise<void>;
}

/**
 * Builds a line from figures and the failed conditions: PASS when `failures` is empty.
 *
 *   verdict('relay/reset', { resetAfterMs: 3 }, 'ECONNRESET within 2000 ms', [ms > 2000 && `...`])
 */
export function verdict(name: string, figures: Record<string, Figure>, threshold: string, failures: Array<string | false | null | undefined>): CheckLine {
  const reasons = failures.filter((f): f is string => typeof f === 'string' && f.length > 0);
  return { name, status: reasons.length === 0 ? 'PASS' : 'FAIL', figures, threshold, reasons };
}

export function skipped(name: string, threshold: string, reason: string): CheckLine {
  return { name, status: 'SKIPPED', figures: {}, threshold, reasons: [reason] };
}
