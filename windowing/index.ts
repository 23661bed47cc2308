/**
 * Public face of windowing/: pure flow-control decisions, the frame codec and the PROXY protocol codec.
 * Nothing here opens a socket, starts a timer or reads a clock; callers pass time in.
 */
export { Watermark, type Crossing } from './watermark.js';
export { DirectionWindow, type DirectionWindowOptions, type FlowAction } from './direction-window.js';
export { HoldLedger, type HoldReason } from './hold-ledger.js';
export { Admission, type AdmissionOptions, type AdmissionVerdict } from './admission.js';
export * from './yamux/index.js';
export * from './proxy-protocol/index.js';
export { Backoff, BACKOFF_DEFAULTS, type BackoffOptions } from './backoff.js';
export { chooseLink, type LinkLoad } from './link-choice.js';
export { TokenBucket, type TokenBucketOptions, type TokenGrant } from './token-bucket.js';
export { MemoryBudget, DEFAULT_MEMORY_BUDGET_BYTES, type MemoryBudgetOptions } from './memory-budget.js';
export { BlockLedger, type BlockLedgerOptions } from './block-ledger.js';
export { AdaptiveLimit, type AdaptiveLimitOptions, type LatencyKind, type LimitUpdate } from './adaptive-limit.js';
export {
  computePressure,
  describePressure,
  HeldBackWindow,
  PressureSignals,
  DEFAULT_EVENT_LOOP_DELAY_TARGET_MS,
  DEFAULT_SHED_AT,
  type PressureInputs,
  type PressureComponents,
  type PressureReading,
  type HeldBackWindowOptions,
  type PressureSignalOptions,
  type HealthVerdict,
} from './pressure.js';
export {
  MessageFramer,
  MessageTooLargeError,
  MESSAGE_FRAMINGS,
  DEFAULT_MAX_MESSAGE_BYTES,
  MAX_MESSAGE_LIMIT_BYTES,
  U32BE_PREFIX_BYTES,
  LINE_TERMINATOR,
  type MessageFraming,
  type MessageFramerOptions,
  type FramerEnd,
} from './message-framer.js';
export {
  MessageQueue,
  OVERFLOW_POLICIES,
  DROP_REASONS,
  type OverflowPolicy,
  type DropReason,
  type OfferDecision,
  type MessageQueueOptions,
  type Sized,
} from './message-queue.js';
export { SpillBudget } from './spill-budget.js';
export { TimerWheel, type WheelEntry } from './timer-wheel.js';
export { CloseGrace, type ClosingSide, type GraceDecision } from './close-grace.js';
