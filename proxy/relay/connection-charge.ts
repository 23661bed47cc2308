/**
 * What one relayed connection costs beyond the bytes it reads: two sockets with their libuv
 * handles and state, the relay, its two directions, windows and timers. Measured on Node 20 with
 * the bench's idle cases (2026-11-30): 1000 idle relayed connections 64.8 MB of RSS in all, 10 000
 * 115.0 MB, so about 5.6 KB each (it was some 18 KB before the connection was put on libuv's own
 * handles, and the charge was 20 KiB); rounded up. Charged to the memory budget from accept to
 * close, so admission sees it.
 */
export const CONNECTION_CHARGE_BYTES = 8 * 1024;

/**
 * The charge per connection for a budget: CONNECTION_CHARGE_BYTES, but never more than 1/1024 of
 * the budget, so that a small budget is not filled by idle connections alone (below 8 MiB the
 * charge then understates what a connection costs).
 */
export function connectionChargeFor(budgetBytes: number): number {
  return Math.min(CONNECTION_CHARGE_BYTES, Math.floor(budgetBytes / 1024));
}
