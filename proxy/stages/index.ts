/** The stages a direction can hold between its reader and its sink writer. */
export { MessageStage, type MessageModeOptions, type MessageStageEvents } from './message-stage.js';
export { RateStage, type RateStageOptions } from './rate-stage.js';
