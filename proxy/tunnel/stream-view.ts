import type { Duplex } from 'node:stream';
import type { StreamView } from '../signals/connections-view.js';
import { TunnelStream } from './stream.js';

/**
 * For `/connections`: the stream id and yamux windows of a connection's side when that side is
 * a tunnel stream (the relay's ConnectionTable asks; it never knows streams exist), else null.
 */
export function tunnelStreamOf(side: Duplex): Omit<StreamView, 'side'> | null {
  if (!(side instanceof TunnelStream)) return null;
  const info = side.windows();
  return {
    id: side.streamId,
    sendWindowBytes: info?.sendCreditBytes ?? 0,
    recvWindowBytes: info?.recvWindowBytes ?? 0,
    recvBufferedBytes: info?.recvBufferedBytes ?? 0,
  };
}
