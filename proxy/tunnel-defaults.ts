/** Defaults of the tunnel sidecars, each with its reason. */
export const TUNNEL_DEFAULTS = {
  /**
   * Total growth beyond the initial window that auto-tuning may grant, over every stream of the
   * process: one stream can still reach the 16 MiB maximum, many share it. Without it, a consumer
   * whose kernel buffers swallow data fast (then stall) can grow every window to the maximum and
   * pin that much memory at once.
   */
  windowBudgetBytes: 16 * 1024 * 1024,
} as const;
