/**
 * Medians and ratios. Absolute numbers drift on a shared 2-core machine; ratios taken within
 * one run, between interleaved measurements, hold. So everything reported is a median over
 * rounds and a ratio against a baseline measured in the same rounds.
 */

/** Median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/** a / b, NaN unless both are finite and b is not 0. */
export function ratio(a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN;
}

/** Spread of the samples as (max - min) / median, to show how much a figure moved between rounds. */
export function spread(values: readonly number[]): number {
  const xs = values.filter(Number.isFinite);
  if (xs.length < 2) return NaN;
  return ratio(Math.max(...xs) - Math.min(...xs), median(xs));
}
