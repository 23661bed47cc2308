/** Helpers for driving a Session by hand: build peer frames, read what the session queued. */
import { describeFrame, encodeFrame, encodeHeader, FrameDecoder, type FrameHeader, type Session, type SessionEvent } from '../../windowing/index.js';
import { reassemble, type WholeFrame } from './chunking.js';

/** Encodes one frame as a single buffer; without a payload, a data frame is its header alone. */
export function frame(type: number, flags: number, streamId: number, length: number, payload?: Buffer): Buffer {
  const header = { type: type as FrameHeader['type'], flags, streamId, length: payload === undefined ? length : payload.length };
  return payload === undefined ? encodeHeader(header) : Buffer.concat(encodeFrame(header, payload));
}

/** Takes the session's outbound queue and decodes it into whole frames. */
export function takeFrames(session: Session): WholeFrame[] {
  const batch = session.takeOutbound();
  session.flushed(batch);
  return reassemble(new FrameDecoder({ maxFrameBytes: 0xffffffff }).push(Buffer.concat(batch.buffers)));
}

/** Takes the session's outbound queue as describeFrame lines. */
export function takeLines(session: Session): string[] {
  return takeFrames(session).map((f) => describeFrame(f.header));
}

/** A compact view of events for assertions: `data 1 5` (stream, bytes), `error ERR_X`, `goAway 0`. */
export function summarize(events: SessionEvent[]): string[] {
  return events.map((e) => {
    switch (e.type) {
      case 'data':
        return `data ${e.streamId} ${e.bytes.length}`;
      case 'error':
        return `error ${e.error.code} goAway=${e.goAwayCode}`;
      case 'goAway':
        return `goAway ${e.code}`;
      case 'rtt':
        return `rtt ${e.sampleMs} ${e.rttMs}`;
      default:
        return `${e.type} ${e.streamId}`;
    }
  });
}
