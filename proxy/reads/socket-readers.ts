import type { Socket } from 'node:net';
import type { OnreadOption } from '../net/connect.js';
import type { SourceReader } from '../pipeline/index.js';
import { adoptWithReadHook } from './adopt-socket.js';
import { OnreadReader } from './onread-reader.js';
import { ReadHook } from './read-hook.js';
import { StreamReader } from './stream-reader.js';

/**
 * 'onread' (default): plain TCP sockets read into reused buffers (see read-buffers.ts);
 * 'stream': ordinary 'data' events, the path any duplex takes. Both have the same flow control.
 */
export type ReadPath = 'onread' | 'stream';

/**
 * The reader for a socket a server accepted with `pauseOnConnect`: on the onread path the socket
 * is re-wrapped to read into reused buffers (adopt-socket.ts); where that is not possible, or on
 * the stream path, the accepted socket is kept and read through 'data' events.
 */
export function readAccepted(accepted: Socket, readPath: ReadPath, writableHighWaterMark?: number): { socket: Socket; reader: SourceReader } {
  if (readPath === 'onread') {
    const hook = new ReadHook();
    const adopted = adoptWithReadHook(accepted, hook, writableHighWaterMark);
    if (adopted) return { socket: adopted, reader: new OnreadReader(adopted, hook) };
  }
  return { socket: accepted, reader: new StreamReader(accepted) };
}

/** For a socket sluice dials: the `onread` option to create it with, and its reader once connected. */
export interface DialledReads {
  readonly onread: OnreadOption | undefined;
  readerFor(socket: Socket): SourceReader;
}

/** Reads for a socket about to be dialled on `readPath`. */
export function readDialled(readPath: ReadPath): DialledReads {
  if (readPath !== 'onread') return { onread: undefined, readerFor: (socket) => new StreamReader(socket) };
  const hook = new ReadHook();
  return { onread: hook.onread, readerFor: (socket) => new OnreadReader(socket, hook) };
}
