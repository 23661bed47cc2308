import { MAX_TIMER_MS } from '../../windowing/timer-limit.js';

/**
 * Sizes and durations as people write them on a command line: `65536`, `64KiB`, `1MiB`,
 * `250ms`, `5s`, `1m`, `1h`. Parsers throw UsageError-friendly RangeErrors naming the value.
 */

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses `65536`, `64KiB`, `1.5MiB`, `1GiB` (also KB/MB/GB as powers of 1000) into bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new RangeError(`expected a size like 65536, 64KiB or 1MiB, got "${text}"`);
  }
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`size "${text}" is too large`);
  return bytes;
}

/** Parses `250ms`, `5s`, `1m`, `1h` (a bare number means milliseconds) into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? (m[2] === '' ? 1 : DURATION_UNITS[m[2]!.toLowerCase()]) : undefined;
  if (!m || unit === undefined) {
    throw new RangeError(`expected a duration like 250ms, 5s, 1m or 1h, got "${text}"`);
  }
  const ms = Math.round(Number(m[1]) * unit);
  // Not 0 by rounding: 0 turns a timeout off, which "0.4ms" does not ask for.
  if (ms === 0 && Number(m[1]) !== 0) throw new RangeError(`duration "${text}" is shorter than 1 ms`);
  if (ms > MAX_TIMER_MS) throw new RangeError(`duration "${text}" is longer than 24 days`);
  return ms;
}

/** Formats bytes the way parseSize reads them back, for help text and logs. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** Formats milliseconds the way parseDuration reads them back. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
