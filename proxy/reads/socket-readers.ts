import type { Socket } from 'node:net';
import { sharedBlocks, type BlockPool } from '../memory/block-pool.js';
import type { OnreadOption } from '../net/connect.js';
import { asSocket, leanTcp } from '../net/lean-socket.js';
import type { SourceReader } from '../pipeline/index.js';
import { adoptWithReadHook } from './adopt-socket.js';
import { OnreadReader } from './onread-reader.js';
import { ReadHook } from './read-hook.js';
import { StreamReader } from './stream-reader.js';

/**
 * 'onread' (default): plain TCP sockets read into pooled blocks (see onread-reader.ts);
 * 'stream': ordinary 'data' events, the path any duplex takes. Both have the same flow control.
 */
export type ReadPath = 'onread' | 'stream';

/**
 * The reader for a socket a server accepted with `pauseOnConnect`: on the onread path a
 * LeanSocket (lean-socket.ts) reads into blocks of `blocks` through its hook, and a net.Socket is
 * re-wrapped to do the same (adopt-socket.ts); where that is not possible, or on the stream path,
 * the accepted socket is kept and read through 'data' events (Node allocates each chunk).
 */
export function readAccepted(accepted: Socket, readPath: ReadPath, writableHighWaterMark?: number, blocks: BlockPool = sharedBlocks): { socket: Socket; reader: SourceReader } {
  if (readPath === 'onread' && leanTcp?.owns(accepted)) {
    const hook = new ReadHook();
    accepted.setOnread(hook.onread);
    accepted.setNoDelay(true);
    const socket = asSocket(accepted);
    return { socket, reader: new OnreadReader(socket, hook, blocks) };
  }
  if (readPath === 'onread') {
    const hook = new ReadHook();
    const adopted = adoptWithReadHook(accepted, hook, writableHighWaterMark);
    if (adopted) return { socket: adopted, reader: new OnreadReader(adopted, hook, blocks) };
  }
  return { socket: accepted, reader: new StreamReader(accepted) };
}

/** For a socket sluice dials: the `onread` option to create it with, and its reader once connected. */
export interface DialledReads {
  readonly onread: OnreadOption | undefined;
  readerFor(socket: Socket): SourceReader;
}

/** Reads for a socket about to be dialled on `readPath` (onread: into blocks of `blocks`). */
export function readDialled(readPath: ReadPath, blocks: BlockPool = sharedBlocks): DialledReads {
  if (readPath !== 'onread') return { onread: undefined, readerFor: (socket) => new StreamReader(socket) };
  const hook = new ReadHook();
  return { onread: hook.onread, readerFor: (socket) => new OnreadReader(socket, hook, blocks) };
}
