/** Frame cases shared by the encoder and decoder tables, edge values included. */
import { Flag, FrameType, type FrameHeader } from '../../windowing/index.js';

/** A frame to encode and decode, with a payload for data frames. */
export interface CodecCase {
  header: FrameHeader;
  payload: Buffer;
}

function frame(type: number, flags: number, streamId: number, length: number, payload?: Buffer): CodecCase {
  return { header: { version: 0, type: type as FrameHeader['type'], flags, streamId, length }, payload: payload ?? Buffer.alloc(0) };
}

function data(flags: number, streamId: number, size: number): CodecCase {
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 31 + 7) & 0xff;
  return frame(FrameType.Data, flags, streamId, size, payload);
}

/** Every type, with 0 and 0xffffffff in each u32 field and 0 / 0xffff flags. */
export const codecCases: CodecCase[] = [
  data(0, 1, 0),
  data(0, 1, 1),
  data(Flag.SYN, 1, 5),
  data(Flag.FIN, 0xffffffff, 17),
  data(Flag.ACK | Flag.FIN, 2, 70000),
  data(0xffff, 0, 3),
  frame(FrameType.WindowUpdate, Flag.SYN, 1, 0),
  frame(FrameType.WindowUpdate, Flag.ACK, 2, 262144),
  frame(FrameType.WindowUpdate, 0, 0xffffffff, 0xffffffff),
  frame(FrameType.WindowUpdate, Flag.RST, 3, 0),
  frame(FrameType.Ping, Flag.SYN, 0, 0),
  frame(FrameType.Ping, Flag.ACK, 0, 0xffffffff),
  frame(FrameType.Ping, 0xffff, 0xffffffff, 12345),
  frame(FrameType.GoAway, 0, 0, 0),
  frame(FrameType.GoAway, 0, 0, 2),
  frame(FrameType.GoAway, 0, 0, 0xffffffff),
];
