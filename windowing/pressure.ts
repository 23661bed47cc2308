/**
 * The instance's pressure figure (0..1, exported as `sluice_pressure`) and the signals drawn
 * from it: the /healthz verdict and the HAProxy agent-check reply.
 *
 *   components, each 0..1 (1 = that resource is at its limit):
 *     heldBack    = share of relaying connections held back by backpressure, over a sliding
 *                   window (HeldBackWindow)
 *     memory      = buffered bytes / --memory-budget
 *     eventLoop   = event-loop delay / its target (default 100 ms)
 *     concurrency = connections to the target / adaptive limit (0 when there is no limit)
 *   pressure = max(components)
 *
 * Why the maximum and not a weighted mean: the components are different resources, and the
 * instance is as stuck as its most exhausted one. A full memory budget with an idle event
 * loop, no held-back connections and a free concurrency limit averages to 0.25 and would keep
 * traffic coming to an instance that can take no more. Envoy's overload manager reads its
 * resource monitors the same way: each reports pressure 0..1 against its own limit, and any
 * one of them past its threshold triggers the action.
 *
 * Pure: the caller samples the inputs (proxy/) and passes time in.
 */

/** Event-loop delay that counts as full pressure. A loop this late adds it to every relayed
 * byte's latency; toobusy-js calls a loop overloaded at 70 ms. */
export const DEFAULT_EVENT_LOOP_DELAY_TARGET_MS = 100;
/** `--shed-at`: /healthz answers 503 from this pressure on. */
export const DEFAULT_SHED_AT = 0.8;

/** The measurements pressure is built from; see the module comment. */
export interface PressureInputs {
  /** Share of connections held back by backpressure over the sliding window, 0..1. */
  heldBackShare: number;
  bufferedBytes: number;
  memoryBudgetBytes: number;
  eventLoopDelayMs: number;
  eventLoopDelayTargetMs: number;
  /** Connections holding a slot toward the target. */
  concurrencyInUse: number;
  /** The current (adaptive) limit; 0 means none, and the component is then 0. */
  concurrencyLimit: number;
}

/** Each component of the pressure, 0..1. */
export interface PressureComponents {
  heldBack: number;
  memory: number;
  eventLoop: number;
  concurrency: number;
}

/** The pressure figure with what it is made of. */
export interface PressureReading {
  pressure: number;
  components: PressureComponents;
  /** The component that set the figure (the first one on a tie, in declaration order). */
  dominant: keyof PressureComponents;
}

/** Computes the pressure figure from explicit inputs; see the module comment. */
export function computePressure(inputs: PressureInputs): PressureReading {
  const components: PressureComponents = {
    heldBack: unit(inputs.heldBackShare),
    memory: inputs.memoryBudgetBytes > 0 ? unit(inputs.bufferedBytes / inputs.memoryBudgetBytes) : 0,
    eventLoop: inputs.eventLoopDelayTargetMs > 0 ? unit(inputs.eventLoopDelayMs / inputs.eventLoopDelayTargetMs) : 0,
    concurrency: inputs.concurrencyLimit > 0 ? unit(inputs.concurrencyInUse / inputs.concurrencyLimit) : 0,
  };
  let dominant: keyof PressureComponents = 'heldBack';
  for (const key of ['memory', 'eventLoop', 'concurrency'] as const) {
    if (components[key] > components[dominant]) dominant = key;
  }
  return { pressure: components[dominant], components, dominant };
}

/** Renders components for logs and /healthz detail: `held-back=0.97 memory=0.01 ...`. */
export function describePressure(reading: PressureReading): string {
  const c = reading.components;
  return `pressure=${fixed(reading.pressure)} held-back=${fixed(c.heldBack)} memory=${fixed(c.memory)} event-loop=${fixed(c.eventLoop)} concurrency=${fixed(c.concurrency)}`;
}

/** Options for the sliding window of held-back samples. */
export interface HeldBackWindowOptions {
  /** How far back the share looks. Default 2000 ms: short enough to react within a few agent checks. */
  windowMs?: number;
  /** Granularity of the window. Default 100 ms. */
  bucketMs?: number;
}

/**
 * Share of connections held back over a sliding window. The caller samples at a steady pace
 * (e.g. every 100 ms: how many relaying connections have a paused direction, out of how many),
 * so the share is time-weighted: a connection paused for 1.9 s of 2 s counts as 0.95 of one.
 * Memory is one counter pair per bucket, whatever the number of connections.
 */
export class HeldBackWindow {
  readonly windowMs: number;
  readonly bucketMs: number;
  private readonly held: number[];
  private readonly total: number[];
  private readonly epoch: number[];

  constructor(options: HeldBackWindowOptions = {}) {
    this.windowMs = options.windowMs ?? 2000;
    this.bucketMs = options.bucketMs ?? 100;
    if (!(this.bucketMs > 0 && Number.isFinite(this.bucketMs))) throw new RangeError(`bucketMs must be a number > 0, got ${this.bucketMs}`);
    if (!(this.windowMs >= this.bucketMs && Number.isFinite(this.windowMs))) {
      throw new RangeError(`windowMs must be a number >= bucketMs (${this.bucketMs}), got ${this.windowMs}`);
    }
    const n = Math.ceil(this.windowMs / this.bucketMs);
    this.held = new Array<number>(n).fill(0);
    this.total = new Array<number>(n).fill(0);
    this.epoch = new Array<number>(n).fill(-Infinity);
  }

  /** Records that at `nowMs`, `heldBack` of `total` connections were held back. */
  record(nowMs: number, heldBack: number, total: number): void {
    if (!(total >= 0 && heldBack >= 0 && heldBack <= total)) {
      throw new RangeError(`need 0 <= heldBack <= total, got ${heldBack} of ${total}`);
    }
    const e = Math.floor(nowMs / this.bucketMs);
    const i = mod(e, this.held.length);
    if (this.epoch[i] !== e) {
      this.epoch[i] = e;
      this.held[i] = 0;
      this.total[i] = 0;
    }
    this.held[i]! += heldBack;
    this.total[i]! += total;
  }

  /** Held-back share over the window ending at `nowMs`; 0 when there were no connections. */
  share(nowMs: number): number {
    const e = Math.floor(nowMs / this.bucketMs);
    const oldest = e - this.held.length + 1;
    let held = 0;
    let total = 0;
    for (let i = 0; i < this.held.length; i++) {
      const be = this.epoch[i]!;
      if (be < oldest || be > e) continue;
      held += this.held[i]!;
      total += this.total[i]!;
    }
    return total === 0 ? 0 : held / total;
  }
}

/** Options for the signals drawn from pressure. */
export interface PressureSignalOptions {
  /** `--shed-at`: /healthz turns 503 at or above this pressure. Default 0.8. */
  shedAt?: number;
  /** Pressure at or under which a shedding or draining instance is fine again. Default shedAt - 0.1. */
  clearAt?: number;
  /** The agent says `drain` at or above this pressure (saturation). Default 0.95. */
  drainAt?: number;
  /**
   * The agent weight stays 100% up to this pressure and falls linearly to 1% at drainAt.
   * Default 0.5. Why a flat start: HAProxy sets weight = configured weight x N% / 100,
   * truncated, so with its default `weight 1` any reply under 100% means 0 (no new traffic);
   * a lightly loaded instance must say exactly 100%.
   */
  fullWeightBelow?: number;
  /** Seconds sent in Retry-After with a 503. Default 1. */
  retryAfterS?: number;
}

/** What /healthz should answer; the same shape as proxy's HealthStatus. */
export interface HealthVerdict {
  ok: boolean;
  retryAfterS?: number;
  detail?: string;
}

/**
 * The /healthz and agent-check signals, each with hysteresis so a pressure hovering around a
 * threshold does not flap: shedding starts at shedAt and ends at clearAt; draining starts at
 * drainAt and ends at clearAt too.
 *
 * Agent-check replies (HAProxy 2.6 configuration manual, "agent-check": one line of words
 * separated by spaces, tabs or commas, ended by '\n'; the line end is required in practice):
 *   draining      -> "drain"              (admin state DRAIN: no new connections)
 *   otherwise     -> "up ready N%"        (N = weight as a share of the configured weight)
 * "ready" is restated on every reply because HAProxy keeps an agent-set DRAIN until the agent
 * itself says "ready": if that one reply were lost the server would stay drained for good.
 * The cost: an operator's `set server ... state drain` on the CLI is undone by the next check;
 * disable the agent (`disable agent`) first.
 */
export class PressureSignals {
  readonly shedAt: number;
  readonly clearAt: number;
  readonly drainAt: number;
  readonly fullWeightBelow: number;
  readonly retryAfterS: number;
  private current = 0;
  private detail: string | undefined;
  private shed = false;
  private drained = false;

  constructor(options: PressureSignalOptions = {}) {
    this.shedAt = options.shedAt ?? DEFAULT_SHED_AT;
    if (!(this.shedAt > 0 && this.shedAt <= 1)) throw new RangeError(`shedAt must be in (0, 1], got ${this.shedAt}`);
    this.clearAt = options.clearAt ?? Math.max(0, this.shedAt - 0.1);
    if (!(this.clearAt >= 0 && this.clearAt < this.shedAt)) {
      throw new RangeError(`clearAt must be >= 0 and below shedAt (${this.shedAt}), got ${this.clearAt}`);
    }
    this.drainAt = options.drainAt ?? Math.max(0.95, this.shedAt);
    if (!(this.drainAt > this.clearAt && this.drainAt <= 1)) {
      throw new RangeError(`drainAt must be above clearAt (${this.clearAt}) and at most 1, got ${this.drainAt}`);
    }
    this.fullWeightBelow = options.fullWeightBelow ?? Math.min(0.5, this.clearAt);
    if (!(this.fullWeightBelow >= 0 && this.fullWeightBelow < this.drainAt)) {
      throw new RangeError(`fullWeightBelow must be >= 0 and below drainAt (${this.drainAt}), got ${this.fullWeightBelow}`);
    }
    this.retryAfterS = options.retryAfterS ?? 1;
    if (!(this.retryAfterS >= 1 && Number.isSafeInteger(this.retryAfterS))) {
      throw new RangeError(`retryAfterS must be a whole number >= 1, got ${this.retryAfterS}`);
    }
  }

  /** The last pressure passed to update(). */
  get pressure(): number {
    return this.current;
  }

  /** True while /healthz answers 503. */
  get shedding(): boolean {
    return this.shed;
  }

  /** True while the agent replies `drain`. */
  get draining(): boolean {
    return this.drained;
  }

  /** Moves to a new pressure reading (or a bare figure); returns this for chaining. */
  update(reading: PressureReading | number): this {
    const p = typeof reading === 'number' ? unit(reading) : reading.pressure;
    this.current = p;
    this.detail = typeof reading === 'number' ? `pressure=${fixed(p)}` : describePressure(reading);
    if (!this.shed && p >= this.shedAt) this.shed = true;
    else if (this.shed && p <= this.clearAt) this.shed = false;
    if (!this.drained && p >= this.drainAt) this.drained = true;
    else if (this.drained && p <= this.clearAt) this.drained = false;
    return this;
  }

  /** The agent weight for the current pressure, 1..100 (percent of the configured weight). */
  weightPercent(): number {
    const p = this.current;
    if (p <= this.fullWeightBelow) return 100;
    const falling = (this.drainAt - p) / (this.drainAt - this.fullWeightBelow);
    return Math.max(1, Math.min(100, Math.round(1 + 99 * falling)));
  }

  /** What /healthz answers now. */
  health(): HealthVerdict {
    const detail = this.detail ?? `pressure=${fixed(this.current)}`;
    return this.shed ? { ok: false, retryAfterS: this.retryAfterS, detail } : { ok: true, detail };
  }

  /** The agent-check reply line now, '\n' included. */
  agentReply(): string {
    return this.drained ? 'drain\n' : `up ready ${this.weightPercent()}%\n`;
  }
}

// Clamps to 0..1; NaN (a 0/0 upstream) counts as no pressure rather than poisoning max().
function unit(x: number): number {
  if (!(x > 0)) return 0;
  return x >= 1 ? 1 : x;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

function fixed(x: number): string {
  return x.toFixed(2);
}
