/**
 * The yamux half of windowing/: wire constants, frame codec, per-stream windows, session state
 * machine and its flood budgets (hashicorp/yamux spec, version 0). Pure like the rest: no sockets,
 * no timers, no clock.
 */
export * from './constants.js';
export * from './errors.js';
export { describeFrame, describeFlags, describeGoAwayCode, hasFlag, type FrameHeader } from './frame.js';
export { encodeHeader, encodeFrame, dataFrame, windowUpdateFrame, pingFrame, goAwayFrame, asBuffer, type FrameFields } from './encoder.js';
export { FrameDecoder, DecoderState, parseHeader, type FramePart, type DecoderOptions } from './decoder.js';
export { SendWindow, ReceiveWindow } from './stream-window.js';
export { tuneWindow, isSlowDrain, smoothRtt, GROW_BELOW_RTTS, SHRINK_ABOVE_RTTS, SHRINK_AFTER_SLOW_EPOCHS, type TuneInput } from './tuning.js';
export { EmptyFrameBudget, WindowUpdateBudget, ResetBucket, ControlReplyBudget } from './budgets.js';
export { resolveSessionOptions, type SessionOptions, type SessionLimits, type SessionRole, type WindowGrowthBudget } from './limits.js';
export { StreamPhase, type StreamInfo } from './stream.js';
export {
  Session,
  type SessionEvent,
  type OpenResult,
  type OpenRefusal,
  type SendResult,
  type OutboundBatch,
  type SessionStats,
} from './session.js';
