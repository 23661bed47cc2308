/** One direction as a pipeline: reader -> stages -> sink writer, with one owner of the source. */
export { Direction, type DirectionOptions, type HoldLedgerView } from './direction.js';
export { SinkWriter, type SinkEvents, type SinkWriterOptions } from './sink-writer.js';
export { Valve } from './valve.js';
export type { ConnectionActions, Downstream, Holdable, HoldReason, Lender, ReadTarget, SourceReader, Stage, StageContext, StageExit } from './types.js';
