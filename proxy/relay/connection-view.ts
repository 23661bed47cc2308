import { DROP_REASONS } from '../../windowing/message-queue.js';
import type { Direction } from '../pipeline/index.js';
import type { DirectionView, MessagesView } from '../signals/connections-view.js';
import type { Relay } from './relay.js';

/**
 * The live figures of a relay as the plain objects `/connections` answers with. Read-only: it
 * reads counters the data path keeps anyway and changes nothing.
 */

/** One direction's figures now. */
export function directionView(direction: Direction, nowMs: number): DirectionView {
  const ledger = direction.ledger;
  const window = direction.window;
  return {
    bytes: direction.bytesRead,
    deliveredBytes: direction.deliveredBytes,
    bufferedBytes: direction.heldBytes,
    windowBytes: Math.max(0, window.roomBytes(0, window.watermark.highBytes)),
    held: ledger.isHeld,
    holdReasons: ledger.isHeld ? ledger.reasons() : [],
    heldForMs: Math.round(ledger.currentPauseMs(nowMs)),
    heldBackMs: Math.round(ledger.heldBackMs(nowMs)),
    pauses: ledger.pauses,
  };
}

/** The message counters and queue of a relay in message mode; undefined otherwise. */
export function messagesView(relay: Relay): MessagesView | undefined {
  const counts = relay.messageCounts();
  const backlog = relay.messageBacklog();
  if (!counts || !backlog) return undefined;
  let dropped = 0;
  for (const reason of DROP_REASONS) dropped += counts.dropped[reason];
  return { forwarded: counts.forwarded, dropped, droppedByReason: { ...counts.dropped }, ...backlog };
}
