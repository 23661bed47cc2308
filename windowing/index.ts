/**
 * Public face of windowing/: pure flow-control decisions and the frame codec.
 * Nothing here opens a socket, starts a timer or reads a clock; callers pass time in.
 */
export { Watermark, type Crossing } from './watermark.js';
export { DirectionWindow, type DirectionWindowOptions, type FlowAction } from './direction-window.js';
export { Admission, type AdmissionOptions, type AdmissionVerdict } from './admission.js';
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
