/**
 * Reconnect backoff as a pure schedule (gRPC's connection-backoff shape): the first retry after
 * `initialMs`, each later one `multiplier` times longer, capped at `maxMs`, each spread by
 * +/- `jitter` so clients that lost the same server do not come back in lockstep. The caller
 * passes the random number in, starts the timer, and calls reset() once a link proved itself.
 */

/** Backoff options; every one has a default. */
export interface BackoffOptions {
  /** Delay before the first retry; default 100 ms (a restarted server is usually back quickly). */
  initialMs?: number;
  /** Growth per failed attempt; default 2. */
  multiplier?: number;
  /** Longest delay; default 10 s, so a link comes back within seconds of its server. */
  maxMs?: number;
  /** Spread as a fraction of the delay, 0..1; default 0.2 (gRPC). */
  jitter?: number;
}

/** Default options, each with its reason above. */
export const BACKOFF_DEFAULTS = Object.freeze({ initialMs: 100, multiplier: 2, maxMs: 10_000, jitter: 0.2 } as const);

/** Counts failed attempts and says how long to wait before the next one. */
export class Backoff {
  readonly initialMs: number;
  readonly multiplier: number;
  readonly maxMs: number;
  readonly jitter: number;
  private failures = 0;

  /** Throws RangeError naming the first bad option. */
  constructor(options: BackoffOptions = {}) {
    this.initialMs = check('initialMs', options.initialMs ?? BACKOFF_DEFAULTS.initialMs, 0, Number.MAX_SAFE_INTEGER);
    this.multiplier = check('multiplier', options.multiplier ?? BACKOFF_DEFAULTS.multiplier, 1, 100);
    this.maxMs = check('maxMs', options.maxMs ?? BACKOFF_DEFAULTS.maxMs, this.initialMs, Number.MAX_SAFE_INTEGER);
    this.jitter = check('jitter', options.jitter ?? BACKOFF_DEFAULTS.jitter, 0, 1);
  }

  /** Failed attempts since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next attempt, given a uniform `random01` in [0, 1); counts one failure. */
  next(random01: number): number {
    const base = Math.min(this.maxMs, this.initialMs * this.multiplier ** Math.min(this.failures, 1000));
    this.failures++;
    const spread = base * this.jitter * (2 * clamp01(random01) - 1);
    return Math.max(0, Math.round(Math.min(this.maxMs, base + spread)));
  }

  /** Forgets past failures: the next delay is the initial one again. */
  reset(): void {
    this.failures = 0;
  }
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5;
}

function check(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name} must be a number in ${min}..${max}, got ${value}`);
  }
  return value;
}
