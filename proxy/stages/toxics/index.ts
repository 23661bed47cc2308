/** Toxics: fault injection as stages of a direction (toxiproxy's seven types and sluice's own). */
import type { Stage } from '../../pipeline/index.js';
import { BandwidthStage } from './bandwidth.js';
import { DropStage } from './drop.js';
import { LatencyStage } from './latency.js';
import { LimitDataStage } from './limit-data.js';
import { ResetPeerStage } from './reset-peer.js';
import { SlicerStage } from './slicer.js';
import { SlowCloseStage } from './slow-close.js';
import type { ToxicSpec } from './spec.js';
import { StallStage } from './stall.js';
import { TimeoutStage } from './timeout.js';
import { WindowStage } from './window.js';

export { BandwidthStage, DropStage, LatencyStage, LimitDataStage, ResetPeerStage, SlicerStage, SlowCloseStage, StallStage, TimeoutStage, WindowStage };
export { LATENCY_BUDGET_BYTES } from './latency.js';
export { sliceBounds } from './slicer.js';
export { TOXIC_SCHEMAS, type AttributeSchema } from './schemas.js';
export { parseToxicSpec, toxicObjectFromFlag, TOXIC_TYPES, ToxicSpecError, updateToxicSpec, type ToxicSpec, type ToxicStream } from './spec.js';

/** What a toxic's stage may need from the connection it is in. */
export interface ToxicEnvironment {
  /** Uniform in [0, 1). */
  random: () => number;
  /** A `drop` toxic dropped a whole message. */
  onMessageDropped: () => void;
}

/**
 * The stage for a (parsed) toxic, or null when it has no effect (`noop`, a bandwidth of 0).
 * `previous` is the stage of the same toxic before an update, for the state toxiproxy carries over.
 */
export function toxicStage(spec: ToxicSpec, env: ToxicEnvironment, previous?: Stage): Stage | null {
  const a = spec.attributes;
  switch (spec.type) {
    case 'latency':
      return new LatencyStage({ latencyMs: a.latency!, jitterMs: a.jitter!, random: env.random });
    case 'bandwidth':
      return a.rate! > 0 ? new BandwidthStage({ rateKBps: a.rate! }) : null;
    case 'slow_close':
      return new SlowCloseStage(a.delay!);
    case 'timeout':
      return new TimeoutStage(a.timeout!);
    case 'reset_peer':
      return new ResetPeerStage(a.timeout!);
    case 'slicer':
      return new SlicerStage({ averageSize: a.average_size!, sizeVariation: a.size_variation!, delayUs: a.delay!, random: env.random });
    case 'limit_data':
      return new LimitDataStage(a.bytes!, previous instanceof LimitDataStage ? previous : undefined);
    case 'stall':
      return new StallStage(a.duration!);
    case 'window':
      return new WindowStage(a.bytes!);
    case 'drop':
      return new DropStage(a.probability!, env.onMessageDropped, env.random);
    default:
      return null;
  }
}
