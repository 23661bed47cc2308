/**
 * What one relayed connection costs beyond the bytes it reads: two sockets with their libuv
 * handles and stream state, the relay, its two directions, windows and timers. Measured on
 * Node 20: 500 idle relayed connections grow a relay's RSS by 9.1 MB, about 18 KB each (4 MB of
 * it V8 heap); rounded up. Charged to the memory budget from accept to close, so admission sees it.
 */
export const CONNECTION_CHARGE_BYTES = 20 * 1024;

/**
 * The charge per connection for a budget: CONNECTION_CHARGE_BYTES, but never more than 1/1024 of
 * the budget, so that a small budget is not filled by idle connections alone (below 20 MiB the
 * charge then understates what a connection costs).
 */
export function connectionChargeFor(budgetBytes: number): number {
  return Math.min(CONNECTION_CHARGE_BYTES, Math.floor(budgetBytes / 1024));
}
