/**
 * The longest delay setTimeout keeps (32-bit signed milliseconds, about 24.8 days): a longer one
 * fires at once. Durations are refused past it, options checked against it, and longer waits made
 * in steps of it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
