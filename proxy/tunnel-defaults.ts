/** Defaults of the tunnel sidecars, each with its reason. */
export const TUNNEL_DEFAULTS = {
  /**
   * Total growth beyond the initial window that auto-tuning may grant, over every stream of the
   * process. A consumer whose kernel buffers swallow megabytes fast and then stall looks fast to
   * the tuning rule; without a budget every such window could grow to the 16 MiB maximum and pin
   * that much memory at once. 8 MiB lets one stream fill 160 MB/s at 50 ms of round trip.
   */
  windowBudgetBytes: 8 * 1024 * 1024,
} as const;
